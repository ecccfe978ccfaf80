"""Describe one model on disk from its contents: a TAE pair, a single weights file, ONNX, diffusers.

TAE files are small and are loaded (safely) to read every shape. Anything else may be gigabytes,
so only what names the model is read: a safetensors header, a lazily mapped torch zip, an ONNX
outline, a diffusers ``model_index.json``. Each failure is one ``ModelError`` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import torch

from morphapp.errors import ModelError
from morphapp.models import families, taesd
from morphapp.models.info import ModelInfo
from morphapp.models.onnx_check import check_onnx, describe_inputs
from morphapp.models.safetensors_check import read_header
from morphapp.models.weights import as_state_dict, load_state_dict, load_torch_file, sniff_format

# A legacy (non-zip) pickle cannot be mapped lazily; past this size we do not read it just to list it.
MAX_LEGACY_PICKLE_BYTES = 256_000_000
MAX_INDEX_BYTES = 1_000_000


def describe_pair(name: str, encoder: Path | None, decoder: Path) -> ModelInfo:
    dec_shape = _shape_of(decoder, "decoder", load_state_dict(decoder))
    if encoder is not None:
        enc_shape = _shape_of(encoder, "encoder", load_state_dict(encoder))
        if enc_shape != dec_shape:
            raise ModelError(
                f"{encoder}: encoder ({enc_shape.latent_channels} channels) does not match its decoder "
                f"{decoder.name} ({dec_shape.latent_channels} channels)"
            )
    files = [p for p in (encoder, decoder) if p is not None]
    return ModelInfo(
        name, "tae", dec_shape.family, dec_shape.latent_channels, encoder, decoder,
        format=sniff_format(decoder), size_bytes=_size(files),
    )  # fmt: skip


def describe_combined(name: str, path: Path) -> ModelInfo:
    encoder_state, decoder_state = taesd.split_combined(load_state_dict(path))
    if not decoder_state:
        raise ModelError(f"{path}: not a tiny autoencoder (no decoder tensors); other model kinds come later")
    dec_shape = _shape_of(path, "decoder", decoder_state)
    has_encoder = bool(encoder_state)
    if has_encoder:
        _shape_of(path, "encoder", encoder_state)
    return ModelInfo(
        name, "tae", dec_shape.family, dec_shape.latent_channels, path if has_encoder else None, path, True,
        format=sniff_format(path), size_bytes=_size([path]),
    )  # fmt: skip


def describe_single(name: str, path: Path) -> ModelInfo:
    """One weights file: a TAE with both halves, or a VAE / checkpoint / UNet we can list but not use."""
    fmt = sniff_format(path)
    shapes = read_header(path).shapes() if fmt == "safetensors" else _pickle_shapes(path, fmt)
    if families.looks_like_tae(shapes):
        info = describe_combined(name, path)
        if path.stem == "diffusion_pytorch_model":
            _check_tiny_config(path.parent / "config.json", info)
        return info
    found = families.recognise(shapes)
    if found.kind == "unknown":
        raise ModelError(f"{path}: not a model morphapp recognises ({len(shapes)} tensors of unknown layout)")
    return ModelInfo(
        name, found.kind, found.family, found.latent_channels, None, None,
        format=fmt, paths=(path,), size_bytes=_size([path]),
    )  # fmt: skip


def describe_onnx(name: str, path: Path, allowed_root: Path | None = None) -> ModelInfo:
    outline = check_onnx(path, allowed_root)
    family, channels = describe_inputs(outline)
    extra = [path.parent / location for location in sorted(outline.external_files)]
    return ModelInfo(
        name, "onnx", family, channels, None, None,
        format="onnx", paths=(path, *extra), size_bytes=_size([path, *extra]),
    )  # fmt: skip


def describe_diffusers(name: str, folder: Path) -> ModelInfo:
    """A diffusers pipeline: the family from ``model_index.json``, the latent from ``vae/config.json``."""
    index = _read_json(folder / "model_index.json")
    cls = index.get("_class_name")
    if not isinstance(cls, str):
        raise ModelError(f"{folder / 'model_index.json'}: not a diffusers pipeline (no _class_name)")
    channels = None
    vae_config = folder / "vae" / "config.json"
    if vae_config.is_file():
        value = _read_json(vae_config).get("latent_channels")
        channels = value if isinstance(value, int) and not isinstance(value, bool) else None
    fmt = "onnx" if cls.startswith("Onnx") else "diffusers"
    if not _has_weights(folder):
        raise ModelError(f"{folder}: a diffusers configuration without weights (nothing to load)")
    return ModelInfo(
        name, "diffusers", f"{_pipeline_family(cls)} ({cls})", channels, None, None,
        format=fmt, paths=(folder,), size_bytes=_tree_size(folder),
    )  # fmt: skip


def _check_tiny_config(config: Path, info: ModelInfo) -> None:
    """A diffusers AutoencoderTiny folder: its ``config.json`` must describe the weights beside it."""
    if not config.is_file():
        return  # the weights alone describe a TAE fully
    doc = _read_json(config)
    cls = doc.get("_class_name")
    if cls != "AutoencoderTiny":
        raise ModelError(
            f"{config}: a {cls} configuration beside tiny-autoencoder weights (expected AutoencoderTiny)"
        )
    channels = doc.get("latent_channels")
    if isinstance(channels, int) and channels != info.latent_channels:
        raise ModelError(
            f"{config}: says {channels} latent channels, but the weights beside it have "
            f"{info.latent_channels}"
        )


def _pipeline_family(cls: str) -> str:
    for marker, family in (
        ("StableDiffusionXL", "SDXL"),
        ("StableDiffusion3", "SD3"),
        ("Flux2", "FLUX.2"),
        ("Flux", "FLUX.1"),
        ("StableDiffusion", "SD 1.x-2.x"),
    ):
        if marker in cls:
            return family
    return "diffusers"


def _pickle_shapes(path: Path, fmt: str) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of a torch file, refusing anything but tensors (``weights_only``), mapped lazily."""
    if fmt == "pickle" and path.stat().st_size > MAX_LEGACY_PICKLE_BYTES:
        raise ModelError(
            f"{path}: a legacy pickle checkpoint too large to inspect safely; convert it to .safetensors"
        )
    if fmt == "torch-zip" and path.suffix.lower() != ".safetensors":
        # mmap: a multi-GB checkpoint costs only its index; torch picks the loader from the name,
        # so a zip misnamed .safetensors takes the plain path below.
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except Exception:
            state = load_torch_file(path)  # gives the one clear ModelError for refusals and damage
    else:
        state = load_torch_file(path)
    return {key: tuple(value.shape) for key, value in as_state_dict(state, path).items()}


def _read_json(path: Path) -> dict[str, object]:
    try:
        if path.stat().st_size > MAX_INDEX_BYTES:
            raise ModelError(f"{path}: too large for a diffusers config")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable diffusers config ({exc})") from exc
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: not a diffusers config (not a JSON object)")
    return doc


def _shape_of(path: Path, half: str, state: taesd.StateDict) -> taesd.TaeShape:
    try:
        return taesd.encoder_shape(state) if half == "encoder" else taesd.decoder_shape(state)
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{path}: {exc}") from exc


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # a file removed meanwhile counts as empty
            total += path.stat().st_size
    return total


def _has_weights(folder: Path) -> bool:
    for _parent, _dirs, names in os.walk(folder):
        if any(
            name.lower().endswith((".safetensors", ".bin", ".onnx", ".ckpt", ".pth", ".pt")) for name in names
        ):
            return True
    return False


def _tree_size(folder: Path) -> int:
    total = 0
    for parent, _dirs, names in os.walk(folder):
        total += _size([Path(parent, name) for name in names])
    return total
