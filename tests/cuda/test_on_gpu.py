"""What only a CUDA GPU shows: the same pictures as the CPU, half precision that holds, the diffusion
morph and DIFT matching with every tensor on one device, and the out-of-memory ladder under a real cap.

Marked ``cuda``: skipped without a GPU (CI has none); ``bench/gpu_check.py`` runs them on a lent one.
``MORPHAPP_GPU_TESTS_ON=cpu`` rehearses them on the CPU (all but the cap, which is CUDA's).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import psnr
from morphapp.core.render.frames import render_frames, to_tensor
from morphapp.diffusion.features import semantic_align
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.render import render_diffusion_frames
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import ModelInfo
from morphapp.models.tae_codec import TaeCodec

pytestmark = pytest.mark.cuda
CPU = torch.device("cpu")
CUDA = torch.device(os.environ.get("MORPHAPP_GPU_TESTS_ON") or "cuda")


def _pixels(images: torch.Tensor) -> np.ndarray:
    return (images.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def test_taef2_decodes_on_cuda_as_on_the_cpu(taef2_info: ModelInfo, pairs_dir: Path) -> None:
    image = to_tensor(load_image(pairs_dir / "cat.png", (256, 256)).pixels)
    reference = TaeCodec(taef2_info, CPU, torch.float32)
    latent = reference.encode(image)
    expected = _pixels(reference.decode(latent))
    floor = {torch.float32: 45.0, torch.float16: 35.0, torch.bfloat16: 32.0}
    for dtype, least in floor.items():
        codec = TaeCodec(taef2_info, CUDA, dtype)
        on_gpu = _pixels(codec.decode(latent.to(CUDA)))
        assert psnr(on_gpu, expected) >= least, dtype
        encoded = codec.encode(image.to(CUDA)).float().cpu()
        assert torch.allclose(encoded, latent, atol=0.25), dtype  # CPU bf16 is off by up to 0.11


def test_a_cuda_render_is_the_cpu_render(taef2_info: ModelInfo, pairs_dir: Path) -> None:
    keys = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    settings = MorphSettings(size=(256, 192), frames=7)
    cpu = [f.pixels for f in render_frames(keys, TaeCodec(taef2_info, CPU, torch.float32), settings)]
    choice = choose(taef2_info, CUDA)  # what --backend auto runs on this GPU
    gpu = [f.pixels for f in render_frames(keys, open_codec(taef2_info, CUDA, choice), settings)]
    assert len(gpu) == len(cpu) == 7
    assert min(psnr(g, c) for g, c in zip(gpu, cpu, strict=True)) >= 35.0, choice.describe()


def _diffusion_settings(frames: int = 4, size: int = 64) -> MorphSettings:
    return MorphSettings(size=(size, size), frames=frames, diffusion=DiffusionSettings(steps=4))


def test_a_diffusion_morph_runs_on_cuda_in_half_precision(tiny_sd_info: ModelInfo, pairs_dir: Path) -> None:
    model = DiffusionModel(tiny_sd_info, CUDA)
    assert model.dtype == (torch.float16 if CUDA.type == "cuda" else torch.float32)
    keys = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    notes: list[str] = []
    morph = render_diffusion_frames(keys, model, _diffusion_settings(), note=notes.append)
    frames = [f.pixels for f in morph]
    assert len(frames) == 4 and all(f.shape == (64, 64, 3) for f in frames)
    assert all(float(np.abs(a.astype(int) - b).mean()) > 0.5 for a, b in itertools.pairwise(frames))
    assert next(model.unet.parameters()).dtype == model.dtype  # the UNet runs in half precision
    assert not any("out of GPU memory" in n for n in notes), notes


def test_dift_matching_runs_on_cuda(tiny_sd_info: ModelInfo, pairs_dir: Path) -> None:
    """The review's crash: DIFT's noise was made on the CPU and fed to a CUDA UNet."""
    model = DiffusionModel(tiny_sd_info, CUDA)
    a = load_image(pairs_dir / "cat.png", (128, 128)).pixels
    b = load_image(pairs_dir / "dog.png", (128, 128)).pixels
    result = semantic_align(model, a, b)
    assert result.psnr_after >= result.psnr_before  # random features: the guard keeps it no worse


@contextlib.contextmanager
def _memory_cap() -> Iterator[None]:
    """The GPU's memory capped a little above what is held now: the next big allocation fails."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    # 4 MiB: room for the text encoder's small tensors (outside the ladder), none for a 512² VAE pass.
    torch.cuda.set_per_process_memory_fraction(min(1.0, (torch.cuda.memory_reserved() + 4 * 2**20) / total))
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


def test_the_memory_ladder_finishes_under_a_real_cap(tiny_sd_info: ModelInfo, pairs_dir: Path) -> None:
    if CUDA.type != "cuda":
        pytest.skip("no CUDA GPU here: the memory cap is CUDA's")
    keys = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    settings = _diffusion_settings(frames=3, size=512)
    expected = [f.pixels for f in render_diffusion_frames(keys, DiffusionModel(tiny_sd_info, CPU), settings)]
    model = DiffusionModel(tiny_sd_info, CUDA)
    notes: list[str] = []
    with _memory_cap():
        frames = [f.pixels for f in render_diffusion_frames(keys, model, settings, note=notes.append)]
    assert any(n.startswith("out of GPU memory; continuing with") for n in notes), notes
    assert len(frames) == 3
    assert min(psnr(f, e) for f, e in zip(frames, expected, strict=True)) >= 25.0
