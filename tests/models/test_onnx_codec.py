"""The ONNX Runtime backend gives the torch backend's numbers, and exports once per cache key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import to_tensor
from morphapp.models.discovery import ModelInfo
from morphapp.models.onnx_codec import OnnxCodec
from morphapp.models.tae_codec import TaeCodec


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_taef2(taef2_info: ModelInfo, taef2: TaeCodec, onnx_cache: Path) -> OnnxCodec:
    return OnnxCodec(taef2_info, torch.device("cpu"), cache_dir=onnx_cache, source=taef2)


@pytest.mark.parametrize("name, size", [("cat.png", (64, 48)), ("house0.jpg", (96, 128))])
def test_matches_torch_on_real_photos(
    pairs_dir: Path, taef2: TaeCodec, onnx_taef2: OnnxCodec, name: str, size: tuple[int, int]
) -> None:
    images = to_tensor(load_image(pairs_dir / name, size).pixels)
    latent_torch = taef2.encode(images)
    latent_onnx = onnx_taef2.encode(images)
    assert latent_onnx.shape == latent_torch.shape
    assert latent_onnx.dtype == torch.float32
    assert float((latent_onnx - latent_torch).abs().max()) <= 1e-4
    decoded_torch = taef2.decode(latent_torch)
    decoded_onnx = onnx_taef2.decode(latent_torch)
    assert decoded_onnx.shape == images.shape
    assert float((decoded_onnx - decoded_torch).abs().max()) <= 1e-4
    assert float(decoded_onnx.min()) >= 0.0 and float(decoded_onnx.max()) <= 1.0


def test_batches_decode_like_single_frames(taef2: TaeCodec, onnx_taef2: OnnxCodec) -> None:
    latents = torch.randn(3, taef2.latent_channels, 4, 6, generator=torch.Generator().manual_seed(0))
    together = onnx_taef2.decode(latents)
    alone = torch.cat([onnx_taef2.decode(latents[i : i + 1]) for i in range(3)])
    assert float((together - alone).abs().max()) <= 1e-5
    assert float((together - taef2.decode(latents)).abs().max()) <= 1e-4


def test_export_is_cached_and_written_once(
    taef2_info: ModelInfo, taef2: TaeCodec, onnx_taef2: OnnxCodec, onnx_cache: Path
) -> None:
    assert onnx_taef2.model_id == taef2.model_id
    files = sorted(onnx_taef2.folder.glob("*.onnx"))
    assert [f.name for f in files] == ["decoder.onnx", "encoder.onnx"]
    assert onnx_taef2.folder.parent == onnx_cache
    assert not list(onnx_taef2.folder.glob("*.part"))  # atomic: no temp files left behind
    stamps = [f.stat().st_mtime_ns for f in files]
    again = OnnxCodec(taef2_info, torch.device("cpu"), cache_dir=onnx_cache, source=taef2)
    assert again.exported == []
    assert again.folder == onnx_taef2.folder
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_cuda_request_without_cuda_provider_falls_back_with_one_note(
    taef2_info: ModelInfo, taef2: TaeCodec, onnx_taef2: OnnxCodec, onnx_cache: Path
) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    notes: list[str] = []
    codec = OnnxCodec(taef2_info, torch.device("cuda"), cache_dir=onnx_cache, source=taef2, note=notes.append)
    assert codec.device.type == "cpu"
    assert codec.providers == ["CPUExecutionProvider"]
    assert len(notes) == 1 and "CUDA" in notes[0]


def test_cli_renders_with_the_onnx_backend(pairs_dir: Path, tmp_path: Path, model_path_env: str) -> None:
    import contextlib
    import io

    import numpy as np
    from PIL import Image

    from morphapp.cli.main import main

    keys = [str(pairs_dir / "cat.png"), str(pairs_dir / "dog.png")]
    frames = {}
    for backend in ("onnx", "torch"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["render", *keys, "-o", str(tmp_path / backend), "--frames", "3", "--size", "64x48",
                         "--backend", backend, "--precision", "fp32"])  # fmt: skip
        assert code == 0, err.getvalue()
        assert f"note: backend {backend} fp32\n" in err.getvalue()
        frames[backend] = [np.asarray(Image.open(p)) for p in sorted((tmp_path / backend).glob("*.png"))]
    assert len(frames["onnx"]) == len(frames["torch"]) == 3
    for a, b in zip(frames["onnx"], frames["torch"], strict=True):
        assert int(np.abs(a.astype(int) - b).max()) <= 1  # 1e-4 apart before rounding to 8 bits
