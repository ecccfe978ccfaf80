"""Text conditioning of a frame: the prompt embeddings, interpolated between keyframes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Conditioning:
    """What the UNet is conditioned on. SDXL adds a pooled embedding and size/crop ids."""

    embeds: torch.Tensor  # (1, tokens, dim)
    pooled: torch.Tensor | None = None  # (1, dim) SDXL only
    time_ids: torch.Tensor | None = None  # (1, 6) SDXL only

    def lerp(self, other: Conditioning, t: float) -> Conditioning:
        """Linear interpolation: text embeddings live on no sphere; a lerp is what AID/DiffMorpher use."""
        return Conditioning(
            torch.lerp(self.embeds, other.embeds, t),
            None if self.pooled is None or other.pooled is None else torch.lerp(self.pooled, other.pooled, t),
            self.time_ids,
        )

    @staticmethod
    def weighted_sum(weights: list[float], conds: list[Conditioning]) -> Conditioning:
        """Latent arithmetic on the text: "a king" - "a man" + "a woman" (the expression keyframe's)."""

        def total(parts: list[torch.Tensor]) -> torch.Tensor:
            return torch.stack([w * x for w, x in zip(weights, parts, strict=True)]).sum(0)

        pooled = [c.pooled for c in conds]
        return Conditioning(
            total([c.embeds for c in conds]),
            None if any(p is None for p in pooled) else total(pooled),  # type: ignore[arg-type]
            conds[0].time_ids,
        )

    def batch_with(self, uncond: Conditioning) -> Conditioning:
        """(uncond, cond) stacked along the batch, for classifier-free guidance in one UNet call."""
        return Conditioning(
            torch.cat([uncond.embeds, self.embeds]),
            None if self.pooled is None or uncond.pooled is None else torch.cat([uncond.pooled, self.pooled]),
            None if self.time_ids is None else torch.cat([self.time_ids, self.time_ids]),
        )

    def unet_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"encoder_hidden_states": self.embeds}
        if self.pooled is not None and self.time_ids is not None:
            kwargs["added_cond_kwargs"] = {"text_embeds": self.pooled, "time_ids": self.time_ids}
        return kwargs

    def to(self, device: torch.device, dtype: torch.dtype) -> Conditioning:
        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.to(device=device, dtype=dtype)

        return Conditioning(
            self.embeds.to(device=device, dtype=dtype), move(self.pooled), move(self.time_ids)
        )
