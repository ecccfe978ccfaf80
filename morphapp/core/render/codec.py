"""What the render loop needs from a model backend: images to latents and back.

The protocol lives in the engine's lowest layer, beside the render loop that calls it; the
backends in ``morphapp.models`` implement it (the layers point one way: models -> core).
"""

from __future__ import annotations

from typing import Protocol

import torch


class LatentCodec(Protocol):
    """Encodes images to latents and decodes latents to images.

    Images are float32 tensors (B, 3, H, W) in [0, 1] on the CPU; latents are float32 tensors
    (B, C, H / downscale, W / downscale) on the CPU. Where the network runs, and in which
    dtype, is the codec's business.
    """

    name: str
    model_id: str  # changes whenever the weights change; part of cache keys
    latent_channels: int
    downscale: int
    device: torch.device
    dtype: torch.dtype

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...

    def decode(self, latents: torch.Tensor) -> torch.Tensor: ...
