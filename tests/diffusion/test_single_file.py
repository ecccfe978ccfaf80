"""Single-file ``.safetensors`` checkpoints (the original LDM key layout) on the tiny SD pipeline:
the test converter against diffusers' own mapping, discovery, offline loading with a configuration
folder beside the checkpoint or in the Hugging Face cache, the same morph as from the diffusers
folder, and the error when no configuration is at hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.diffusion.model import DiffusionModel, single_file_config
from morphapp.diffusion.render import render_diffusion_frames
from morphapp.errors import ModelError
from morphapp.models.discovery import find_model
from morphapp.models.info import ModelInfo
from tests.diffusion.tiny_sd import save_tiny_single_file

CONFIG_FILES = shutil.ignore_patterns("*.safetensors", "*.bin", "*.ckpt")  # a configuration has no weights


@pytest.fixture(scope="module")
def single_file(tiny_sd_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline as one checkpoint, with its configuration beside it in ``<name>.config``."""
    folder = tmp_path_factory.mktemp("checkpoints")
    path = save_tiny_single_file(tiny_sd_dir, folder / "tiny-single.safetensors")
    shutil.copytree(tiny_sd_dir, folder / "tiny-single.config", ignore=CONFIG_FILES)
    return path


@pytest.fixture(scope="module")
def single_info(single_file: Path) -> ModelInfo:
    return find_model(str(single_file))


@pytest.fixture(scope="module")
def single_model(single_info: ModelInfo) -> DiffusionModel:
    return DiffusionModel(single_info, torch.device("cpu"))


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_the_checkpoint_has_the_ldm_layout_diffusers_converts_back(
    single_file: Path, tiny_sd: DiffusionModel
) -> None:
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        infer_diffusers_model_type,
    )
    from safetensors.torch import load_file

    checkpoint = load_file(str(single_file))
    assert {k.split(".")[0] for k in checkpoint} == {"model", "first_stage_model", "cond_stage_model"}
    assert infer_diffusers_model_type(checkpoint) == "v1"
    same_state(convert_ldm_unet_checkpoint(checkpoint, tiny_sd.unet.config), tiny_sd.unet.state_dict())
    same_state(convert_ldm_vae_checkpoint(checkpoint, tiny_sd.vae.config), tiny_sd.vae.state_dict())
    text = {k.removeprefix("text_model."): v for k, v in convert_ldm_clip_checkpoint(checkpoint).items()}
    same_state(text, tiny_sd._pipe.text_encoder.state_dict())


def test_discovery_finds_an_sd1_checkpoint(single_info: ModelInfo, single_file: Path) -> None:
    info = single_info
    assert (info.kind, info.family, info.format) == ("checkpoint", "SD 1.x", "safetensors")
    assert single_info.paths == (single_file,)
    assert single_info.is_diffusion and single_info.usable
    assert single_info.latent_channels == 4


def test_loads_offline_with_the_same_networks_as_the_folder(
    single_model: DiffusionModel, tiny_sd: DiffusionModel
) -> None:
    assert single_model.family == "SD 1.x"
    same_state(single_model.unet.state_dict(), tiny_sd.unet.state_dict())
    same_state(single_model.vae.state_dict(), tiny_sd.vae.state_dict())
    same_state(single_model._pipe.text_encoder.state_dict(), tiny_sd._pipe.text_encoder.state_dict())
    assert single_model.scheduler_config == tiny_sd.scheduler_config
    assert single_model.scaling_factor == tiny_sd.scaling_factor


def test_morph_from_the_checkpoint_equals_the_morph_from_the_folder(
    single_model: DiffusionModel, tiny_sd: DiffusionModel, pairs_dir: Path
) -> None:
    keyframes = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    s = MorphSettings(size=(32, 32), frames=3, diffusion=DiffusionSettings(steps=3))
    ours = [f.pixels for f in render_diffusion_frames(keyframes, single_model, s)]
    theirs = [f.pixels for f in render_diffusion_frames(keyframes, tiny_sd, s)]
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1


def test_the_configuration_may_come_from_the_hugging_face_cache(
    single_file: Path,
    tiny_sd_dir: Path,
    tiny_sd: DiffusionModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a ``.config`` folder, the base repository diffusers would fetch (SD 1.5), if cached."""
    lone = tmp_path / "lone.safetensors"
    shutil.copyfile(single_file, lone)
    commit = "0" * 40
    repo = tmp_path / "hf" / "hub" / "models--stable-diffusion-v1-5--stable-diffusion-v1-5"
    shutil.copytree(tiny_sd_dir, repo / "snapshots" / commit, ignore=CONFIG_FILES)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert single_file_config(lone, "SD 1.x") == repo / "snapshots" / commit
    model = DiffusionModel(find_model(str(lone)), torch.device("cpu"))
    same_state(model.unet.state_dict(), tiny_sd.unet.state_dict())


def test_without_a_configuration_the_error_says_what_to_do(single_file: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.safetensors"
    shutil.copyfile(single_file, lone)
    info = find_model(str(lone))
    assert info.usable  # discovery cannot know; loading says it
    with pytest.raises(ModelError) as caught:
        DiffusionModel(info, torch.device("cpu"))
    message = str(caught.value)
    assert "needs the diffusers configuration" in message
    assert "lone.config" in message
    assert "hf download stable-diffusion-v1-5/stable-diffusion-v1-5" in message
