"""The step-preview TAE follows the model's latent space: TAESD for SD, TAESDXL for SDXL."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from morphapp.diffusion.preview import preview_model_for
from morphapp.models import taesd


def write_random_tae(folder: Path, name: str, channels: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for kind, build in (("encoder", taesd.build_encoder), ("decoder", taesd.build_decoder)):
        state = {k: v.contiguous() for k, v in build(channels, False).state_dict().items()}
        save_file(state, str(folder / f"{name}_{kind}.safetensors"))


def test_each_family_gets_its_own_tae(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_random_tae(tmp_path / "a", "taesdxl")
    write_random_tae(tmp_path / "b", "taesd")
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path))
    sd, xl = preview_model_for("SD 1.x-2.x (StableDiffusionPipeline)", 4), preview_model_for("SDXL", 4)
    assert sd is not None and sd.name == "taesd"
    assert xl is not None and xl.name == "taesdxl"
    assert preview_model_for("SD 1.x", 16) is None  # no TAE of that latent space


def test_no_preview_rather_than_the_wrong_latent_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_random_tae(tmp_path, "taesd")
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path))
    assert preview_model_for("SDXL", 4) is None
