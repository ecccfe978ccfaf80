"""Deterministic DDIM (eta = 0): denoising, and its inverse that walks an image back to noise.

Written out here rather than through diffusers' schedulers because inversion and denoising must
use the very same timesteps and alphas (so that a keyframe denoised from its own inverted noise
comes back), the loop must stop between steps for cancel, and the attention hooks must know the
step. The numbers (timesteps, alphas_cumprod, final alpha) still come from the model's own
scheduler config through diffusers' ``DDIMScheduler``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from diffusers import DDIMScheduler

from morphapp.errors import ModelError

# (latents, step index, timestep) -> the model's raw output (epsilon, v or sample)
ModelFn = Callable[[torch.Tensor, int, int], torch.Tensor]
StepFn = Callable[[int, torch.Tensor], None]  # (step index, predicted clean latent) after each step


@dataclass(frozen=True)
class DdimSchedule:
    timesteps: tuple[int, ...]  # noisiest first, ``steps`` of them
    alphas_cumprod: torch.Tensor  # float64, indexed by timestep
    final_alpha: float  # alpha of the clean end (after the last step)
    prediction_type: str  # "epsilon", "v_prediction" or "sample"

    @classmethod
    def from_scheduler_config(cls, config: dict[str, object], steps: int) -> DdimSchedule:
        scheduler = DDIMScheduler.from_config(config)
        scheduler.set_timesteps(steps)
        prediction = str(scheduler.config.prediction_type)
        if prediction not in ("epsilon", "v_prediction", "sample"):
            raise ModelError(f"the model predicts {prediction!r}; morphapp handles epsilon, v and sample")
        return cls(
            tuple(int(t) for t in scheduler.timesteps),
            scheduler.alphas_cumprod.to(torch.float64),
            float(scheduler.final_alpha_cumprod),
            prediction,
        )

    @property
    def steps(self) -> int:
        return len(self.timesteps)

    def level(self, index: int) -> float:
        """alpha_cumprod of a latent about to take step ``index``; ``steps`` is the clean end."""
        if index >= self.steps:
            return self.final_alpha
        return float(self.alphas_cumprod[self.timesteps[index]])

    def split(self, output: torch.Tensor, x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted noise, predicted clean latent) from the model's output at noise level ``alpha``."""
        a, s = alpha**0.5, (1.0 - alpha) ** 0.5
        if self.prediction_type == "epsilon":
            eps = output
            x0 = (x - s * eps) / a
        elif self.prediction_type == "v_prediction":
            eps = a * output + s * x
            x0 = a * x - s * output
        else:
            x0 = output
            eps = (x - a * x0) / s
        return eps, x0


def denoise(
    x: torch.Tensor,
    schedule: DdimSchedule,
    model: ModelFn,
    *,
    start: int = 0,
    on_step: StepFn | None = None,
    check: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Run steps ``start`` .. end on the noisy latent ``x`` (at the level of step ``start``)."""
    for i in range(start, schedule.steps):
        if check is not None:
            check()
        output = model(x, i, schedule.timesteps[i])
        eps, x0 = schedule.split(output.to(torch.float32), x, schedule.level(i))
        after = schedule.level(i + 1)
        x = after**0.5 * x0 + (1.0 - after) ** 0.5 * eps
        if on_step is not None:
            on_step(i, x0)
    return x


def invert(
    x0: torch.Tensor,
    schedule: DdimSchedule,
    model: ModelFn,
    *,
    start: int = 0,
    check: Callable[[], None] | None = None,
) -> torch.Tensor:
    """DDIM inversion: the noisy latent at step ``start`` that ``denoise(..., start=start)`` maps back to x0.

    Each inverse step evaluates the model at the level it moves *to* (the usual approximation:
    the exact step would need the output at the unknown next latent).
    """
    x = x0
    for i in reversed(range(start, schedule.steps)):
        if check is not None:
            check()
        output = model(x, i, schedule.timesteps[i])
        there = schedule.level(i)
        eps, clean = schedule.split(output.to(torch.float32), x, schedule.level(i + 1))
        x = there**0.5 * clean + (1.0 - there) ** 0.5 * eps
    return x
