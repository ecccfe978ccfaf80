"""Guarantee 5: NaN/Inf from the model is caught per batch and redone in float32, else a clear error.

"Hot" TAEF2 weights make float16 overflow for real, without changing the network's function:
one convolution's weights and the biases of the blocks after it are multiplied by 2**15 and
the next (bias-free) convolution's weights divided by 2**15. ReLU and the blocks' identity
skips are positively homogeneous, and a power of two scales floats exactly, so in float32 the
hot network computes bit for bit what TAEF2 computes, while in float16 its activations
(normally below 5) pass 65504 and become Inf. The fallback's result must therefore equal the
plain float32 TAEF2 codec's output exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import render_frames, to_tensor
from morphapp.core.render.interpolate import interpolate
from morphapp.errors import ModelError
from morphapp.models.discovery import ModelInfo, scan
from morphapp.models.tae_codec import TaeCodec
from morphapp.models.weights import load_state_dict
from tests.reliability.conftest import frame_hashes, run_cli

HOT = 2.0**15
CPU = torch.device("cpu")


def _hot_states(info: ModelInfo) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    assert info.encoder is not None
    encoder = {k: v.float() for k, v in load_state_dict(info.encoder).items()}
    decoder = {k: v.float() for k, v in load_state_dict(info.decoder).items()}
    # Encoder: conv 2 (stride 2, no bias) -> blocks 3-5 (no GN branch) -> conv 6 (no bias).
    # Decoder: conv 7 (after the first upsample) -> blocks 8-10 -> upsample -> conv 12.
    for state, first, blocks, last in ((encoder, 2, (3, 4, 5), 6), (decoder, 7, (8, 9, 10), 12)):
        state[f"{first}.weight"] *= HOT
        for block in blocks:
            for conv in (0, 2, 4):
                state[f"{block}.conv.{conv}.bias"] *= HOT
        state[f"{last}.weight"] /= HOT
    return encoder, decoder


def _write_model(folder: Path, name: str, encoder: dict, decoder: dict) -> ModelInfo:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(encoder, folder / f"{name}_encoder.pth")  # float32 files: exact scaled weights
    torch.save(decoder, folder / f"{name}_decoder.pth")
    (model,) = [m for m in scan([folder]).models if m.name == name]
    return model


@pytest.fixture(scope="module")
def hot_dir(taef2_info: ModelInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hot-model")
    _write_model(folder, "taef2hot", *_hot_states(taef2_info))
    return folder


@pytest.fixture(scope="module")
def hot_info(hot_dir: Path) -> ModelInfo:
    (model,) = [m for m in scan([hot_dir]).models if m.name == "taef2hot"]
    return model


@pytest.fixture(scope="module")
def image(pairs_dir: Path) -> torch.Tensor:
    return to_tensor(load_image(pairs_dir / "cat.png", (64, 64)).pixels)


def test_float16_overflow_is_redone_in_float32(
    taef2: TaeCodec, hot_info: ModelInfo, image: torch.Tensor
) -> None:
    notes: list[str] = []
    hot16 = TaeCodec(hot_info, CPU, torch.float16, note=notes.append)
    # The poisoning works: plain float16 really overflows...
    with torch.inference_mode():
        raw = hot16._encoder(image.to(torch.float16).contiguous(memory_format=torch.channels_last))
    assert not torch.isfinite(raw).all()
    # ...and the codec's answer is the float32 TAEF2 answer, bit for bit.
    latent = hot16.encode(image)
    assert torch.isfinite(latent).all() and torch.equal(latent, taef2.encode(image))
    pixels = hot16.decode(torch.cat([latent, -latent]))  # a batch of two
    assert torch.equal(pixels, taef2.decode(torch.cat([latent, -latent])))
    assert hot16.float32_retries == 2
    # The float32 copy is made once, kept for later batches, and said once.
    kept = dict(hot16._float32_nets)
    hot16.decode(latent)
    assert hot16._float32_nets == kept and hot16.float32_retries == 3
    assert len(notes) == 1 and "overflowed in float16" in notes[0] and "float32" in notes[0]


def test_batches_that_do_not_overflow_stay_in_half_precision(
    taef2_info: ModelInfo, image: torch.Tensor
) -> None:
    codec = TaeCodec(taef2_info, CPU, torch.bfloat16, note=pytest.fail)
    latent = codec.encode(image)
    codec.decode(latent)
    assert codec.float32_retries == 0 and codec._float32_nets == {}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_nan_weights_fail_clearly_after_the_float32_retry(
    taef2_info: ModelInfo, tmp_path: Path, image: torch.Tensor, dtype: torch.dtype
) -> None:
    assert taef2_info.encoder is not None
    encoder = load_state_dict(taef2_info.encoder)
    decoder = {k: v.float() for k, v in load_state_dict(taef2_info.decoder).items()}
    decoder["19.bias"][0] = math.nan  # a damaged download: the last conv's red bias
    codec = TaeCodec(_write_model(tmp_path, "broken", encoder, decoder), CPU, dtype, note=lambda _: None)
    latent = codec.encode(image)
    with pytest.raises(
        ModelError, match=r"broken: decode produced NaN/Inf (even )?in float32; the model file"
    ):
        codec.decode(latent)


def test_cli_float16_render_equals_float32_render(
    hot_dir: Path, model_path_env: str, keys: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", f"{hot_dir}:{model_path_env}")
    common = ("--size", "64x64", "--frames", "3")
    code, err = run_cli(
        "render", *keys, "-o", tmp_path / "half", "--model", "taef2hot", "--dtype", "float16", *common
    )
    assert code == 0, err
    assert sum("overflowed in float16" in line for line in err.splitlines()) == 1, err
    code, err = run_cli(
        "render", *keys, "-o", tmp_path / "full", "--model", "taef2", "--dtype", "float32", *common
    )
    assert code == 0, err
    half, full = frame_hashes(tmp_path / "half"), frame_hashes(tmp_path / "full")
    assert len(full) == 3 and half == full


# --------------------------------------------------------------------------- path math


class ShapedLatents:
    """Real TAEF2, except that keyframe 1's latent is made from keyframe 0's: equal, opposite, 0..."""

    def __init__(self, codec: TaeCodec, second: str, first: torch.Tensor) -> None:
        self.codec, self.second, self.first = codec, second, first
        self.name, self.model_id = codec.name, f"{codec.model_id}:{second}"
        self.latent_channels, self.downscale = codec.latent_channels, codec.downscale
        self.device, self.dtype = codec.device, codec.dtype
        self.encodes = 0

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        self.encodes += 1
        if self.encodes == 1:
            return self.first  # keyframe 0: its real latent, encoded once for all cases
        return {
            "identical": self.first,
            "opposite": -self.first,
            "zero": torch.zeros_like(self.first),
            "tiny": self.first * 1e-30,
            "huge": self.first * 1e30,
        }[self.second]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        assert torch.isfinite(latents).all()
        return self.codec.decode(latents)


def test_degenerate_latent_pairs_render_finite_frames(taef2: TaeCodec, keys: list[Path]) -> None:
    # Through the whole render loop (path math in float64, then the real decoder, which raises
    # ModelError on any NaN/Inf): slerp's special cases must all give finite frames.
    settings = MorphSettings(size=(64, 64), segment_frames=(4,), ease="ease-in-out")
    first = taef2.encode(to_tensor(load_image(keys[0], (64, 64)).pixels))
    for second in ("identical", "opposite", "zero", "tiny", "huge"):
        # Frames 1 and 3 only: the in-betweens (path math), not the keyframes themselves.
        codec = ShapedLatents(taef2, second, first)
        frames = list(render_frames([Keyframe(k) for k in keys], codec, settings, frame_indices=[1, 3]))
        assert [f.index for f in frames] == [1, 3], second
        assert all(f.pixels.shape == (64, 64, 3) for f in frames), second


latent_values = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    scale=st.sampled_from([1.0, -1.0, 0.0, 1e-20, 1e20]) | latent_values,
    noise=st.sampled_from([0.0, 1e-12, 1e-6]) | st.floats(0, 10),
    t=st.lists(st.floats(0, 1), min_size=1, max_size=4),
)
def test_path_between_related_latents_is_finite(scale: float, noise: float, t: list[float]) -> None:
    # b = scale * a + noise: parallel, anti-parallel, zero and near-parallel pairs of real size.
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(32, 8, 8, generator=gen)
    b = (a * scale + noise * torch.randn(32, 8, 8, generator=gen)).to(torch.float32)
    for path in ("slerp", "lerp"):
        out = interpolate(path, a, b, [0.0, *t, 1.0])
        assert torch.isfinite(out).all(), (path, scale, noise)
        assert torch.equal(out[0], a.double()) and torch.equal(out[-1], b.double())
        assert np.isfinite(out.numpy()).all()
