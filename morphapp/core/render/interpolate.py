"""Interpolation between latents: spherical (slerp) and linear (lerp).

All math runs in float64 on the CPU-side copy of the latents, whatever dtype the model runs
in, so paths are exact at the ends and free of NaN. Each sample of a batch is one point in
R^(C*H*W): slerp moves its *direction* along the great circle and its *norm* linearly, so two
latents of different magnitude morph without the mid-path shrinking that plain lerp causes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from morphapp.core.domain.choices import PATH_CHOICES
from morphapp.errors import InputError

# Below this sin(angle) the great circle is ill-defined (parallel or opposite directions):
# fall back to lerp, which is exact there and cannot divide by zero.
PARALLEL_EPS = 1e-7


def _as_times(t: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(t, dtype=torch.float64).reshape(-1)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Linear interpolation; returns shape (len(t), *a.shape) in float64."""
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    times = _as_times(t).view(-1, *([1] * a.ndim))
    out = a64 + (b64 - a64) * times
    return _pin_ends(out, a64, b64, _as_times(t))


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of one latent (any shape) to another of the same shape.

    Returns shape (len(t), *a.shape) in float64. t=0 gives ``a`` and t=1 gives ``b`` exactly.
    """
    if a.shape != b.shape:
        raise ValueError(f"latent shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    a64 = a.to(torch.float64).reshape(-1)
    b64 = b.to(torch.float64).reshape(-1)
    times = _as_times(t)
    norm_a, norm_b = a64.norm(), b64.norm()
    if norm_a == 0 or norm_b == 0:
        return lerp(a, b, times)
    unit_a, unit_b = a64 / norm_a, b64 / norm_b
    cos = torch.clamp(unit_a @ unit_b, -1.0, 1.0)
    sin = torch.sqrt(1.0 - cos * cos)
    if sin < PARALLEL_EPS:
        return lerp(a, b, times)
    angle = torch.atan2(sin, cos)  # atan2 stays accurate for small angles, unlike acos
    weight_a = torch.sin((1.0 - times) * angle) / sin
    weight_b = torch.sin(times * angle) / sin
    direction = weight_a[:, None] * unit_a[None] + weight_b[:, None] * unit_b[None]
    norms = (1.0 - times) * norm_a + times * norm_b
    out = (direction * norms[:, None]).reshape(len(times), *a.shape)
    return _pin_ends(out, a.to(torch.float64), b.to(torch.float64), times)


def _pin_ends(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Make t == 0 and t == 1 bit-exact copies of the endpoints (keyframes must not drift)."""
    out[times == 0.0] = a
    out[times == 1.0] = b
    return out


def interpolate(
    path: str, a: torch.Tensor, b: torch.Tensor, t: float | Sequence[float] | torch.Tensor
) -> torch.Tensor:
    if path == "slerp":
        return slerp(a, b, t)
    if path == "lerp":
        return lerp(a, b, t)
    raise InputError(f"--path {path}: unknown path; choose one of {', '.join(PATH_CHOICES)}")
