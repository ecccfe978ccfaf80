"""Interpolating two noise latents so every in-between is still noise the model can denoise.

A plain lerp of two Gaussian noises shrinks the norm (the midpoint of two independent unit
noises has norm 0.71), and the model denoises that into a washed-out, blurry image. Slerp keeps
the norm; AdaIN then gives each channel the mean and spread interpolated between the two
endpoints (DiffMorpher), which matters for inverted image noise, whose statistics are not the
prior's.
"""

from __future__ import annotations

import torch

from morphapp.core.render.interpolate import slerp


def slerp_adain(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Noise at ``t`` between ``a`` and ``b`` (each (1, C, h, w)); exact at t = 0 and t = 1."""
    if t == 0.0:
        return a.clone()
    if t == 1.0:
        return b.clone()
    mixed = slerp(a[0].double(), b[0].double(), [t])[0:1]  # (1, C, h, w) float64
    mean_a, std_a = _stats(a.double())
    mean_b, std_b = _stats(b.double())
    mean, std = _stats(mixed)
    target_mean = torch.lerp(mean_a, mean_b, t)
    target_std = torch.lerp(std_a, std_b, t)
    return ((mixed - mean) / std * target_std + target_mean).to(a.dtype)


def combine_noise(weights: list[float], noises: list[torch.Tensor]) -> torch.Tensor:
    """The noise of an expression keyframe: the weighted sum of its terms' noises, given per channel
    the mean and spread of the terms' own (weighted by |w|), since a sum of three independent noises
    has 1.7 times their spread and the model would denoise it into grey mush. Terms that all share
    one noise (prompt terms of one seed) keep it as it is."""
    if all(torch.equal(noises[0], n) for n in noises[1:]):
        # One noise (prompt terms of one seed): the arithmetic is the text's alone; summing would
        # scale it by the weights' sum (0 for "a king - a man": a flat field, not noise).
        return noises[0].clone()
    total = sum(w * n.double() for w, n in zip(weights, noises, strict=True))
    assert isinstance(total, torch.Tensor)
    share = torch.tensor([abs(w) for w in weights], dtype=torch.float64)
    share = share / share.sum()
    stats = [_stats(n.double()) for n in noises]
    target_mean = sum(s * m for s, (m, _) in zip(share, stats, strict=True))
    target_std = sum(s * d for s, (_, d) in zip(share, stats, strict=True))
    mean, std = _stats(total)
    return ((total - mean) / std * target_std + target_mean).to(noises[0].dtype)


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    return mean, std


FREEMORPH_KEEP = 42 / 48  # FreeMorph's cutoff at 96² latents: the central 42/48 of each axis stays


def inject_high_frequencies(
    latent: torch.Tensor, noise: torch.Tensor, keep: float = FREEMORPH_KEEP
) -> torch.Tensor:
    """FreeMorph's high-frequency noise injection: in the centred 2-D spectrum of each channel, the
    square of half-side ``keep`` x (side / 2) around the centre (the low frequencies: layout and
    colour) comes from ``latent``, everything outside it from ``noise`` (fresh detail, so an
    in-between is not the blur of its two keyframes). Both (1, C, h, w); the result is real."""
    height, width = latent.shape[-2:]
    spectrum = torch.fft.fftshift(torch.fft.fft2(latent.double()), dim=(-2, -1))
    fresh = torch.fft.fftshift(torch.fft.fft2(noise.double()), dim=(-2, -1))
    cy, cx = height // 2, width // 2
    ry, rx = round(keep * cy), round(keep * cx)
    low = torch.zeros((height, width), dtype=torch.bool)
    # Symmetric about the centre (both ends included), so the mixed spectrum stays that of a real
    # image and nothing is lost taking the real part (FreeMorph's [c - r, c + r) is off by one).
    low[cy - ry : cy + ry + 1, cx - rx : cx + rx + 1] = True
    mixed = torch.where(low, spectrum, fresh)
    return torch.fft.ifft2(torch.fft.ifftshift(mixed, dim=(-2, -1))).real.to(latent.dtype)
