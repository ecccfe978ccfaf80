"""The settings that only a diffusion model reads (steps, guidance, inversion, attention, pacing).

They live in the engine's core, apart from ``morphapp.diffusion``, so that projects, the CLI and
the GUI can carry them without importing diffusers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from morphapp.errors import InputError

PACING_CHOICES: tuple[str, ...] = ("linear", "even")
# How an in-between attends to its keyframes' recorded self-attention (AID, He et al., NeurIPS 2024,
# "fused" forms): "inner" attends over its own keys/values and the lerp of the two keyframes';
# "outer" attends to each keyframe (with its own) separately and blends the two outputs by t;
# "freemorph": FreeMorph's denoising side (Cao et al., ICCV 2025, as its code does it): outer
# blending of the keyframes alone for the first fifth of the steps, then fused with the frame's
# own, and high-frequency noise injected into each in-between's starting latent.
METHOD_CHOICES: tuple[str, ...] = ("inner", "outer", "freemorph")
MAX_STEPS = 200  # DDIM gains nothing past ~100; far beyond is a typo that would run for hours
GUIDANCE_FOR_PROMPTS = 7.5  # Stable Diffusion's usual scale: prompt keyframes need it to look like anything
GUIDANCE_FOR_IMAGES = 1.0  # no classifier-free guidance: DDIM inversion is only faithful without it


@dataclass(frozen=True)
class DiffusionSettings:
    steps: int = 25  # DDIM steps of a full denoise
    guidance: float | None = None  # None: 1.0 for image-only morphs, 7.5 when a prompt keyframe is in it
    strength: float = 1.0  # how far images are inverted: 1 = to pure noise, 0.5 = half way
    attn_steps: float = 0.6  # share of the denoising that interpolates the endpoints' self-attention
    pacing: str = "linear"  # "even": re-place in-betweens so neighbouring frames differ evenly
    method: str = "inner"  # attention interpolation (METHOD_CHOICES)

    def validate(self) -> None:
        if not 1 <= self.steps <= MAX_STEPS:
            raise InputError(f"--steps {self.steps}: must be between 1 and {MAX_STEPS}")
        if self.guidance is not None and not (math.isfinite(self.guidance) and 0 <= self.guidance <= 30):
            raise InputError(f"--guidance {self.guidance}: must be between 0 and 30")
        if not (math.isfinite(self.strength) and 0 < self.strength <= 1):
            raise InputError(f"--strength {self.strength}: must be above 0 and at most 1")
        if not (math.isfinite(self.attn_steps) and 0 <= self.attn_steps <= 1):
            raise InputError(f"--attn-steps {self.attn_steps}: must be between 0 and 1")
        if self.method not in METHOD_CHOICES:
            raise InputError(f"--method {self.method}: choose one of {', '.join(METHOD_CHOICES)}")
        if self.pacing not in PACING_CHOICES:
            raise InputError(f"--pacing {self.pacing}: choose one of {', '.join(PACING_CHOICES)}")

    def guidance_for(self, has_prompt_keyframes: bool) -> float:
        if self.guidance is not None:
            return self.guidance
        return GUIDANCE_FOR_PROMPTS if has_prompt_keyframes else GUIDANCE_FOR_IMAGES

    def inverted_steps(self) -> int:
        """How many of the ``steps`` an image keyframe is inverted through (and denoised back)."""
        return max(1, min(self.steps, round(self.steps * self.strength)))
