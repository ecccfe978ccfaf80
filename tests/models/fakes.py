"""Small stand-ins for the model files artists have: the right names and shapes, tiny tensors."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

# Just the tensors (and the one dimension of each that matters) that name a model's family.
CHECKPOINT_KEYS: dict[str, dict[str, tuple[int, ...]]] = {
    "SD 1.x": {
        "model.diffusion_model.input_blocks.0.0.weight": (2, 4, 1, 1),
        "cond_stage_model.transformer.text_model.final_layer_norm.weight": (2,),
        "first_stage_model.encoder.conv_in.weight": (2, 3, 1, 1),
        "first_stage_model.decoder.conv_in.weight": (2, 4, 1, 1),
    },
    "SD 2.x": {
        "model.diffusion_model.input_blocks.0.0.weight": (2, 4, 1, 1),
        "cond_stage_model.model.ln_final.weight": (2,),
    },
    "SDXL": {
        "model.diffusion_model.input_blocks.0.0.weight": (2, 4, 1, 1),
        "conditioner.embedders.1.model.ln_final.weight": (2,),
    },
    "SD3": {
        "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": (2, 2),
        "model.diffusion_model.x_embedder.proj.weight": (2, 16, 2, 2),
    },
    "FLUX.1": {"double_blocks.0.img_attn.norm.key_norm.scale": (2,), "img_in.weight": (2, 64)},
    "FLUX.2": {"double_blocks.0.img_attn.norm.key_norm.scale": (2,), "img_in.weight": (2, 128)},
    "VAE": {"encoder.conv_in.weight": (2, 3, 1, 1), "decoder.conv_in.weight": (2, 16, 1, 1)},
}


def write_checkpoint(path: Path, family: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: torch.zeros(shape, dtype=torch.float16) for k, shape in CHECKPOINT_KEYS[family].items()},
        str(path),
    )
    return path


def write_diffusers_pipeline(folder: Path, cls: str, latent_channels: int) -> Path:
    (folder / "vae").mkdir(parents=True, exist_ok=True)
    (folder / "unet").mkdir(exist_ok=True)
    (folder / "model_index.json").write_text(
        json.dumps({"_class_name": cls, "vae": ["diffusers", "AutoencoderKL"]})
    )
    (folder / "vae" / "config.json").write_text(json.dumps({"latent_channels": latent_channels}))
    write_checkpoint(folder / "vae" / "diffusion_pytorch_model.safetensors", "VAE")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(
        (folder / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()
    )
    return folder


def link_taef2(
    folder: Path, taef2_dir: Path, name: str = "taef2", halves: tuple[str, ...] = ("encoder", "decoder")
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for half in halves:
        (folder / f"{name}_{half}.pth").symlink_to(taef2_dir / f"taef2_{half}.pth")


# ONNX models as protobuf bytes (field numbers from onnx.proto3), without the onnx package.
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _input(name: str, dims: list[int]) -> bytes:
    shape = b"".join(_field(1, _field(1, d)) for d in dims)  # TensorShapeProto.dim { dim_value }
    tensor_type = _field(1, 1) + _field(2, shape)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor_type))  # ValueInfoProto name, type.tensor_type


def onnx_model_bytes(
    *, inputs: dict[str, list[int]] | None = None, domain: str = "", external: str | None = None
) -> bytes:
    node = _field(1, "x") + _field(2, "y") + _field(4, "Relu") + _field(7, domain)
    graph = _field(1, node) + _field(2, "g")
    if external is not None:
        entry = _field(1, "location") + _field(2, external)
        graph += _field(5, _field(1, 4) + _field(2, 1) + _field(8, "w") + _field(13, entry) + _field(14, 1))
    for name, dims in (inputs or {"x": [1, 4, 64, 64]}).items():
        graph += _field(11, _input(name, dims))
    opset = _field(1, domain) + _field(2, 17)
    return _field(1, 8) + _field(7, graph) + _field(8, opset)
