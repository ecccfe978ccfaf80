"""Every registry entry, pulled from a local hub that serves its files in the real repository layout.

The files are built here from the real TAEF2 weights: ``taef2.safetensors`` (madebyollin/taef2)
and diffusers' AutoencoderTiny folder (``config.json`` + ``diffusion_pytorch_model.safetensors``,
with the pickled ``.bin`` beside it, as madebyollin/taesd and the others hold them). A pull, then
a render, must give the built-in model's frames exactly.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import render_frames
from morphapp.models import builtin, taesd
from morphapp.models.discovery import find_model, scan
from morphapp.models.library import pull
from morphapp.models.registry import KNOWN_MODELS, LAYOUT_CONFIG, KnownModel
from morphapp.models.scan_cache import ScanCache
from morphapp.models.tae_codec import TaeCodec
from morphapp.models.weights import load_state_dict
from tests.fresh_user import fresh_user_env
from tests.models.hub_server import FakeHub


@pytest.fixture(scope="module")
def combined_taef2(taef2_dir: Path) -> dict[str, torch.Tensor]:
    """The real TAEF2 halves in the Hugging Face layout (encoder.layers.N / decoder.layers.N)."""
    encoder = load_state_dict(taef2_dir / "taef2_encoder.pth")
    decoder = load_state_dict(taef2_dir / "taef2_decoder.pth")
    return taesd.join_combined(encoder, decoder)


def _repo_files(known: KnownModel, combined: dict[str, torch.Tensor]) -> dict[str, bytes]:
    """What the repository holds, in its own layout (plus files a pull must never fetch)."""
    if known.name == "taef2":
        return {"taef2.safetensors": save(combined), "README.md": b"---\nlicense: mit\n---\n"}
    config = {
        "_class_name": "AutoencoderTiny", "act_fn": "relu", "latent_channels": 32,
        "block_out_channels": [64, 64, 64, 64], "latent_magnitude": 3, "latent_shift": 0.5,
        "num_encoder_blocks": [1, 3, 3, 3], "num_decoder_blocks": [3, 3, 3, 1], "scaling_factor": 1.0,
    }  # fmt: skip
    # diffusers saves float32; the values are TAEF2's float16 ones, exactly.
    as_float32 = {k: v.float() for k, v in combined.items()}
    pickled = io.BytesIO()
    torch.save(as_float32, pickled)
    return {
        "config.json": json.dumps(config).encode(),
        "diffusion_pytorch_model.safetensors": save(as_float32),
        "diffusion_pytorch_model.bin": pickled.getvalue(),
        "taesd_encoder.safetensors": b"not asked for",
    }


def _frames(codec: TaeCodec, pairs_dir: Path) -> list[np.ndarray]:
    keyframes = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    settings = MorphSettings(size=(64, 48), segment_frames=(4,))
    return [f.pixels for f in render_frames(keyframes, codec, settings)]


@pytest.mark.parametrize("name", sorted(KNOWN_MODELS))
def test_pull_from_the_real_layout_renders_the_built_in_frames(
    name: str, hub: FakeHub, combined_taef2: dict[str, torch.Tensor], pairs_dir: Path
) -> None:
    known = KNOWN_MODELS[name]
    for filename, content in _repo_files(known, combined_taef2).items():
        hub.add(known.repo, filename, content)
    # The weights served are TAEF2's (32 channels) whatever the repository: the registry's own
    # latent check is what differs per model, so it is relaxed to what is served.
    result = pull(dataclasses.replace(known, latent_channels=32))

    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.state.requests}
    assert fetched == {f.filename for f in known.files}  # never the .bin, README or extra halves
    assert result.model.can_encode and result.model.latent_channels == 32
    assert [f.filename for f in result.files] == [f.filename for f in known.files]

    built_in = find_model(str(builtin.builtin_folder() / "taef2.safetensors"))
    cpu = torch.device("cpu")
    pulled_frames = _frames(TaeCodec(result.model, cpu), pairs_dir)
    built_in_frames = _frames(TaeCodec(built_in, cpu), pairs_dir)
    assert len(pulled_frames) == 5
    assert all(np.array_equal(a, b) for a, b in zip(pulled_frames, built_in_frames, strict=True))


def test_registry_names_the_published_files() -> None:
    taef2 = KNOWN_MODELS["taef2"]
    assert (taef2.repo, [f.filename for f in taef2.files]) == ("madebyollin/taef2", ["taef2.safetensors"])
    for name in ("taesd", "taesdxl", "taesd3", "taef1"):
        known = KNOWN_MODELS[name]
        assert known.repo == f"madebyollin/{name}"
        assert [f.filename for f in known.files] == ["config.json", "diffusion_pytorch_model.safetensors"]
        assert known.files[0].layout == LAYOUT_CONFIG
    assert {m.name: m.latent_channels for m in KNOWN_MODELS.values()} == {
        "taesd": 4, "taesdxl": 4, "taesd3": 16, "taef1": 16, "taef2": 32
    }  # fmt: skip


def test_an_autoencoder_tiny_folder_prefers_safetensors_and_checks_its_config(
    tmp_path: Path, combined_taef2: dict[str, torch.Tensor]
) -> None:
    folder = tmp_path / "taesd-like"
    folder.mkdir()
    for filename, content in _repo_files(KNOWN_MODELS["taesd"], combined_taef2).items():
        (folder / filename).write_bytes(content)
    found = scan([tmp_path], cache=ScanCache(None))
    assert [(m.name, m.decoder.name if m.decoder else None) for m in found.models] == [
        ("taesd-like", "diffusion_pytorch_model.safetensors")
    ]
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "latent_channels": 4}))
    found = scan([tmp_path], cache=ScanCache(None))
    assert found.models == []
    assert any("says 4 latent channels, but the weights beside it have 32" in line for line in found.skipped)


def test_diffusers_autoencoder_tiny_layout_is_read_as_diffusers_writes_it(tmp_path: Path) -> None:
    """A random 4-channel AutoencoderTiny saved by diffusers itself decodes the same through morphapp."""
    import diffusers  # the [test] extra installs it

    torch.manual_seed(0)
    reference = diffusers.AutoencoderTiny(latent_channels=4).eval()
    reference.save_pretrained(tmp_path / "taesd")
    info = find_model(str(tmp_path / "taesd"))
    assert (info.name, info.latent_channels, info.can_encode) == ("taesd", 4, True)
    codec = TaeCodec(info, torch.device("cpu"))
    latents = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        theirs = reference.decode(latents).sample  # diffusers returns [-1, 1]
    ours = codec.decode(latents)
    assert torch.allclose(ours, (theirs / 2 + 0.5).clamp(0, 1), atol=1e-5)


def test_offline_pull_is_one_line_in_under_three_seconds(tmp_path: Path) -> None:
    """No network at all (a name that never resolves): the command answers at once, exit 2."""
    env = fresh_user_env(tmp_path, MORPHAPP_HF_ENDPOINT="https://hub.morphapp-test.invalid")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "morphapp", "models", "pull", "taef2"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    took = time.perf_counter() - started
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Retrying" not in done.stderr
    assert lines[0].startswith("morphapp: error: no network (cannot look up hub.morphapp-test.invalid)")
    assert (
        "taef2.safetensors" in lines[0] and str(tmp_path / ".local/share/morphapp/models/taef2") in lines[0]
    )
    assert took < 3.0 + _python_start_s(), f"took {took:.1f} s"


def _python_start_s() -> float:
    """This machine's cost of starting morphapp's CLI at all (imports), so only the pull is timed."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "morphapp", "--version"], capture_output=True, timeout=60, check=True
    )
    return time.perf_counter() - started
