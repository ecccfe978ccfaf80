"""The real TAEF2 codec wrapped to count its calls (a wrapper, not a mock: all math is real)."""

from __future__ import annotations

import time

import torch

from morphapp.models.tae_codec import TaeCodec


class CountingCodec:
    def __init__(self, codec: TaeCodec) -> None:
        self.codec = codec
        self.name, self.model_id = codec.name, codec.model_id
        self.latent_channels, self.downscale = codec.latent_channels, codec.downscale
        self.device, self.dtype = codec.device, codec.dtype
        self.encodes = 0
        self.decodes = 0  # frames decoded
        self.decode_seconds: list[float] = []  # wall time of each decode call

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        self.encodes += 1
        return self.codec.encode(images)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        started = time.perf_counter()
        out = self.codec.decode(latents)
        self.decode_seconds.append(time.perf_counter() - started)
        self.decodes += latents.shape[0]
        return out
