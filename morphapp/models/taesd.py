"""The TAESD family of tiny autoencoders (TAESD, TAESDXL, TAESD3, TAEF1, TAEF2), written here.

Architecture after madebyollin/taesd (MIT): plain conv stacks with three 2x down/up steps.
TAEF2 adds, to the three lowest-resolution blocks of each side, a 1x1-conv / GroupNorm(4) /
1x1-conv branch added to the block's input ("mid-block GN"). Everything that differs between
family members (latent channels, the GN branch) is read from the weights' shapes, never from
the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from morphapp.models.weights import StateDict

DOWNSCALE = 8  # three stride-2 stages


def _conv(n_in: int, n_out: int, **kwargs: object) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)  # type: ignore[arg-type]


class SoftClamp(nn.Module):
    """Squash latents smoothly into (-3, 3) before decoding, as the decoders were trained."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    def __init__(self, n_in: int, n_out: int, midblock_gn: bool = False) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            _conv(n_in, n_out), nn.ReLU(), _conv(n_out, n_out), nn.ReLU(), _conv(n_out, n_out)
        )
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()
        self.pool: nn.Module | None = None
        if midblock_gn:
            wide = n_in * 4
            self.pool = nn.Sequential(
                nn.Conv2d(n_in, wide, 1, bias=False),
                nn.GroupNorm(4, wide),
                nn.ReLU(),
                nn.Conv2d(wide, n_in, 1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


def build_encoder(latent_channels: int, midblock_gn: bool) -> nn.Sequential:
    def blocks(gn: bool = False) -> list[nn.Module]:
        return [Block(64, 64, gn), Block(64, 64, gn), Block(64, 64, gn)]

    return nn.Sequential(
        _conv(3, 64), Block(64, 64),
        _conv(64, 64, stride=2, bias=False), *blocks(),
        _conv(64, 64, stride=2, bias=False), *blocks(),
        _conv(64, 64, stride=2, bias=False), *blocks(midblock_gn),
        _conv(64, latent_channels),
    )  # fmt: skip


def build_decoder(latent_channels: int, midblock_gn: bool) -> nn.Sequential:
    def blocks(gn: bool = False) -> list[nn.Module]:
        return [Block(64, 64, gn), Block(64, 64, gn), Block(64, 64, gn)]

    def up() -> list[nn.Module]:
        return [nn.Upsample(scale_factor=2), _conv(64, 64, bias=False)]

    return nn.Sequential(
        SoftClamp(), _conv(latent_channels, 64), nn.ReLU(),
        *blocks(midblock_gn), *up(),
        *blocks(), *up(),
        *blocks(), *up(),
        Block(64, 64), _conv(64, 3),
    )  # fmt: skip


@dataclass(frozen=True)
class TaeShape:
    """What the weights say about a network: its latent channels and whether it has the GN branch."""

    latent_channels: int
    midblock_gn: bool

    @property
    def family(self) -> str:
        """The latent space, as far as shapes can tell (TAESD and TAESDXL share every shape)."""
        if self.latent_channels == 32 and self.midblock_gn:
            return "FLUX.2 (TAEF2)"
        if self.latent_channels == 16:
            return "SD3 / FLUX.1 (TAESD3, TAEF1)"
        if self.latent_channels == 4:
            return "SD 1.x-2.x / SDXL (TAESD, TAESDXL)"
        return f"{self.latent_channels}-channel latent"


def encoder_shape(state: StateDict) -> TaeShape:
    """Read an encoder's shape: its last conv maps 64 features to the latent channels."""
    last = max(int(k.split(".")[0]) for k in state if k.split(".")[0].isdigit())
    weight = state.get(f"{last}.weight")
    if weight is None or weight.ndim != 4 or weight.shape[1] != 64:
        raise ValueError("not a TAESD-family encoder (no final 64-to-latent convolution)")
    return TaeShape(int(weight.shape[0]), _has_gn(state))


def decoder_shape(state: StateDict) -> TaeShape:
    """Read a decoder's shape: layer 1 is the conv from the latent channels to 64 features."""
    weight = state.get("1.weight")
    if weight is None or weight.ndim != 4 or weight.shape[0] != 64:
        raise ValueError("not a TAESD-family decoder (no first latent-to-64 convolution)")
    return TaeShape(int(weight.shape[1]), _has_gn(state))


def _has_gn(state: StateDict) -> bool:
    return any(".pool." in key for key in state)


_DIFFUSERS_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")


def split_combined(state: StateDict) -> tuple[StateDict, StateDict]:
    """Split one file holding both halves into taesd-style encoder and decoder dicts.

    Handles diffusers' AutoencoderTiny layout (``encoder.layers.N``, ``decoder.layers.N``), whose
    decoder list has no leading clamp module, so its indices are one lower than taesd.py's.
    """
    encoder: StateDict = {}
    decoder: StateDict = {}
    for key, value in state.items():
        match = _DIFFUSERS_KEY.match(key)
        if match:
            side, index, rest = match.group(1), int(match.group(2)), match.group(3)
            if side == "encoder":
                encoder[f"{index}.{rest}"] = value
            else:
                decoder[f"{index + 1}.{rest}"] = value
        elif key.startswith("encoder."):
            encoder[key.removeprefix("encoder.")] = value
        elif key.startswith("decoder."):
            decoder[key.removeprefix("decoder.")] = value
    return encoder, decoder


def join_combined(encoder: StateDict, decoder: StateDict) -> StateDict:
    """The inverse of ``split_combined``: one state dict in diffusers' AutoencoderTiny layout.

    This is the layout of the Hugging Face files (``taef2.safetensors``, and each
    ``diffusion_pytorch_model.safetensors`` of the AutoencoderTiny repositories), and of the
    built-in model: decoder indices one lower than here, as diffusers has no clamp module.
    """
    combined: StateDict = {}
    for key, value in encoder.items():
        combined[f"encoder.layers.{key}"] = value
    for key, value in decoder.items():
        index, rest = key.split(".", 1)
        if int(index) < 1:
            raise ValueError(f"decoder key {key!r}: layer 0 is the clamp, which has no weights")
        combined[f"decoder.layers.{int(index) - 1}.{rest}"] = value
    return combined


def load_network(kind: str, state: StateDict) -> tuple[nn.Sequential, TaeShape]:
    """Build the encoder or decoder that ``state`` describes and load it strictly."""
    shape = encoder_shape(state) if kind == "encoder" else decoder_shape(state)
    build = build_encoder if kind == "encoder" else build_decoder
    net = build(shape.latent_channels, shape.midblock_gn)
    net.load_state_dict(state, strict=True)  # raises RuntimeError on any missing/extra/misshaped tensor
    net.eval().requires_grad_(False)
    return net, shape
