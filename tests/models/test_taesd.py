from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from morphapp.errors import ModelError
from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec
from morphapp.models.taesd import TaeShape
from morphapp.models.weights import load_state_dict


def test_shape_detection_reads_the_weights(taef2_info: ModelInfo, taef2: TaeCodec) -> None:
    assert taef2_info.latent_channels == 32
    assert taef2_info.family == "FLUX.2 (TAEF2)"
    latents = taef2.encode(torch.rand(1, 3, 64, 96))
    assert latents.shape == (1, 32, 8, 12)
    assert latents.dtype == torch.float32


def test_decode_is_bounded_and_deterministic(taef2: TaeCodec) -> None:
    z = torch.randn(2, 32, 8, 8, generator=torch.Generator().manual_seed(0))
    a, b = taef2.decode(z), taef2.decode(z)
    assert a.shape == (2, 3, 64, 64)
    assert torch.equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_diffusers_single_file_layout_gives_the_same_network(
    tmp_path: Path, taef2_dir: Path, taef2: TaeCodec
) -> None:
    # diffusers' AutoencoderTiny: encoder.layers.N, and decoder.layers.N one index lower (no clamp module).
    enc = load_state_dict(taef2_dir / "taef2_encoder.pth")
    dec = load_state_dict(taef2_dir / "taef2_decoder.pth")
    combined = {f"encoder.layers.{k}": v for k, v in enc.items()}
    for key, value in dec.items():
        index, rest = key.split(".", 1)
        combined[f"decoder.layers.{int(index) - 1}.{rest}"] = value
    folder = tmp_path / "my-tiny-vae"
    folder.mkdir()
    save_file(
        {k: v.contiguous() for k, v in combined.items()}, str(folder / "diffusion_pytorch_model.safetensors")
    )

    info = find_model(str(folder))
    assert info.name == "my-tiny-vae" and info.combined and info.latent_channels == 32
    codec = TaeCodec(info, torch.device("cpu"))
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    assert torch.equal(codec.encode(image), taef2.encode(image))
    z = taef2.encode(image)
    assert torch.equal(codec.decode(z), taef2.decode(z))


def test_weights_of_the_wrong_shape_are_a_model_error(tmp_path: Path, taef2_dir: Path) -> None:
    dec = load_state_dict(taef2_dir / "taef2_decoder.pth")
    dec["3.conv.0.weight"] = torch.zeros(64, 64, 1, 1, dtype=dec["3.conv.0.weight"].dtype)
    bad = tmp_path / "bad_decoder.safetensors"
    save_file(dec, str(bad))
    info = find_model(str(bad))
    with pytest.raises(ModelError, match="do not fit a TAE decoder"):
        TaeCodec(info, torch.device("cpu"))


def test_family_names() -> None:
    assert "SDXL" in TaeShape(4, False).family
    assert "FLUX.1" in TaeShape(16, False).family
