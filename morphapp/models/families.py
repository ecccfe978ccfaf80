"""Tell what a model file is from its tensor names and shapes, never from its file name.

Used for the models morphapp cannot render with yet (full VAEs, Stable Diffusion / SDXL / SD3 /
FLUX checkpoints), so that ``morphapp models`` lists what an artist already has. Only names and
shapes are needed: discovery reads them from a safetensors header or a lazily mapped pickle,
never the weights themselves. TAE models are recognised by ``taesd`` (their shapes are the
whole description) and never reach this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Shapes = Mapping[str, tuple[int, ...]]

LATENT_SPACES = {4: "SD 1.x-2.x / SDXL", 16: "SD3 / FLUX.1", 32: "FLUX.2"}


@dataclass(frozen=True)
class Recognised:
    kind: str  # "vae", "checkpoint", "unet", "unknown"
    family: str
    latent_channels: int | None


def latent_space(channels: int | None) -> str:
    if channels is None:
        return "unknown"
    return LATENT_SPACES.get(channels, f"{channels}-channel latent")


def looks_like_tae(keys: Mapping[str, object]) -> bool:
    """A TAESD-family file: numbered Sequential layers, alone or under encoder/decoder(.layers)."""
    for key in keys:
        head = key.split(".", 2)
        if head[0].isdigit():
            continue
        if head[0] in ("encoder", "decoder") and len(head) > 1 and (head[1].isdigit() or head[1] == "layers"):
            continue
        return False
    return bool(keys)


def recognise(shapes: Shapes) -> Recognised:
    """Classify a state dict by its keys (checkpoints by their sub-networks, VAEs by conv_in)."""
    vae_channels = _vae_latent_channels(shapes)
    if any(k.startswith(("model.diffusion_model.joint_blocks.", "joint_blocks.")) for k in shapes):
        return Recognised("checkpoint", "SD3", vae_channels or _channels(shapes, "x_embedder.proj.weight", 1))
    img_in = _find(shapes, "img_in.weight")
    if img_in is not None and any(".double_blocks." in k or k.startswith("double_blocks.") for k in shapes):
        # FLUX packs 2x2 latent patches into img_in: 64 inputs for FLUX.1 (16 ch), 128 for FLUX.2 (32 ch).
        channels = vae_channels or (img_in[1] // 4 if len(img_in) == 2 else None)
        return Recognised("checkpoint", "FLUX.2" if channels == 32 else "FLUX.1", channels)
    unet_in = shapes.get("model.diffusion_model.input_blocks.0.0.weight")
    if unet_in is not None:
        channels = vae_channels or (unet_in[1] if len(unet_in) == 4 else None)
        if any(k.startswith("conditioner.embedders.") for k in shapes) or (
            "model.diffusion_model.label_emb.0.0.weight" in shapes
        ):
            family = "SDXL"
        elif any(k.startswith("cond_stage_model.model.") for k in shapes):
            family = "SD 2.x"  # OpenCLIP text encoder
        elif any(k.startswith("cond_stage_model.transformer.") for k in shapes):
            family = "SD 1.x"  # CLIP ViT-L text encoder
        else:
            return Recognised("unet", "Stable Diffusion UNet", channels)
        return Recognised("checkpoint", family, channels)
    if vae_channels is not None:
        return Recognised("vae", f"{latent_space(vae_channels)} VAE", vae_channels)
    return Recognised("unknown", "unknown", None)


def _vae_latent_channels(shapes: Shapes) -> int | None:
    """The latent channels of an AutoencoderKL, alone or inside a checkpoint: its decoder's first conv."""
    for prefix in ("", "first_stage_model.", "vae."):
        conv_in = shapes.get(f"{prefix}decoder.conv_in.weight")
        if conv_in is not None and len(conv_in) == 4 and f"{prefix}encoder.conv_in.weight" in shapes:
            return conv_in[1]
    return None


def _find(shapes: Shapes, suffix: str) -> tuple[int, ...] | None:
    for key, shape in shapes.items():
        if key == suffix or key.endswith("." + suffix):
            return shape
    return None


def _channels(shapes: Shapes, suffix: str, dim: int) -> int | None:
    shape = _find(shapes, suffix)
    return shape[dim] if shape is not None and len(shape) > dim else None
