"""What the diffusion backend uses of diffusers' objects, as types (protocols; nothing is imported).

None of it types as used otherwise: diffusers sets a pipeline's parts with ``register_modules``
(setattr), its models' configs are FrozenDicts read by attribute, and torch's ``Module.__getattr__``
types anything a subclass adds as ``Tensor | Module``. These name exactly what ``model``,
``attention``, ``attention_budget`` and ``features`` call, so mypy checks those calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import torch

_Self = TypeVar("_Self")


class UnetConfig(Protocol):
    @property
    def block_out_channels(self) -> Sequence[int]: ...


class Unet(Protocol):
    """A diffusers ``UNet2DConditionModel``."""

    @property
    def config(self) -> UnetConfig: ...

    @property
    def attn_processors(self) -> Mapping[str, object]:
        """Every attention layer's processor, by the processor's name (``...attn1.processor``)."""
        ...

    def set_attn_processor(self, processor: Mapping[str, object]) -> None: ...

    @property
    def up_blocks(self) -> torch.nn.ModuleList: ...

    def get_submodule(self, target: str) -> torch.nn.Module: ...

    def to(self: _Self, *args: Any, **kwargs: Any) -> _Self: ...

    def eval(self: _Self) -> _Self: ...

    def __call__(
        self, sample: torch.Tensor, timestep: int, *, return_dict: bool, **conditioning: Any
    ) -> tuple[torch.Tensor, ...]:
        """With ``return_dict=False``: (the noise (or v) prediction,)."""
        ...


class VaeConfig(Protocol):
    # (``shift_factor`` and ``force_upcast`` only some VAEs' configs have: they are read with getattr)
    @property
    def latent_channels(self) -> int: ...

    @property
    def block_out_channels(self) -> Sequence[int]: ...

    @property
    def scaling_factor(self) -> float: ...


class _LatentDist(Protocol):
    def mode(self) -> torch.Tensor: ...


class _Encoded(Protocol):
    @property
    def latent_dist(self) -> _LatentDist: ...


class _Decoded(Protocol):
    @property
    def sample(self) -> torch.Tensor: ...


class Vae(Protocol):
    """A diffusers ``AutoencoderKL``."""

    @property
    def config(self) -> VaeConfig: ...

    def encode(self, x: torch.Tensor) -> _Encoded: ...

    def decode(self, z: torch.Tensor) -> _Decoded: ...

    def enable_tiling(self) -> None: ...

    def to(self: _Self, *args: Any, **kwargs: Any) -> _Self: ...

    def eval(self: _Self) -> _Self: ...


class _Configured(Protocol):
    @property
    def config(self) -> Mapping[str, Any]: ...


# ``encode_prompt`` without guidance: (embeds, None) from SD's pipeline; (embeds, None, pooled, None)
# from SDXL's, which has two text encoders.
PromptEncodings = (
    tuple[torch.Tensor, torch.Tensor | None]
    | tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]
)


class Pipeline(Protocol):
    """A diffusers ``StableDiffusionPipeline`` or ``StableDiffusionXLPipeline`` (``model.PIPELINES``);
    its text encoders (``text_encoder``, SDXL's ``text_encoder_2``) are read with getattr."""

    @property
    def unet(self) -> Unet: ...

    @property
    def vae(self) -> Vae: ...

    @property
    def scheduler(self) -> _Configured: ...

    @property
    def config(self) -> Mapping[str, Any]: ...

    def encode_prompt(
        self,
        prompt: str,
        device: torch.device,
        num_images_per_prompt: int,
        do_classifier_free_guidance: bool,
    ) -> PromptEncodings: ...
