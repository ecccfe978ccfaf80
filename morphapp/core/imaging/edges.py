"""Frame edges that follow their keyframes: no decoder rim along the border of an in-between.

A tiny autoencoder decodes in-between latents with a light or dark line along the frame edges,
1-3 px wide, that neither keyframe has (16-20 grey levels on the outermost pixels of a lion ->
tiger morph; padding the image before encoding or the latent before decoding does not remove it:
it comes from how the decoder treats a mix of two latents, not from zero padding). A warp can leave
the same kind of band where it slides the border.

The cure is measured against what the strip should look like. For each side, the *edge profile*
is each of the outer ``BORDER_OUTER`` rows minus the mean of the ``BORDER_INNER`` rows inside
them, smoothed along the edge (a rim is slow along the edge; picture detail is not). A frame at t
gets the profile interpolated between its two keyframes' (their fitted source pictures), so its
outer strip keeps the offset from its inside that the keyframes have, detail untouched. Keyframe
frames get their own source's profile: the decoder's rim goes from them too, and a morph's ends
and in-betweens agree. Costs about 1 ms per 512² frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from morphapp.core.imaging.quality import BORDER_INNER, BORDER_OUTER

ALONG_EDGE_SIGMA = 1 / 32  # of the edge's length: smoothing along the edge (16 px at 512)
MIN_SIDE = 4 * (BORDER_OUTER + BORDER_INNER)  # smaller frames are left as they are


def _sides(image: np.ndarray) -> tuple[np.ndarray, ...]:
    """Views with each side's edge at row 0 and the edge running along axis 1: top, bottom, left, right."""
    across = image.transpose(1, 0, 2)
    return image, image[::-1], across, across[::-1]


def _smooth_along(rows: np.ndarray) -> np.ndarray:
    """Gaussian along axis 1 of (rows, length, channels), edges reflected."""
    import cv2

    length = rows.shape[1]
    sigma = max(1.0, ALONG_EDGE_SIGMA * length)
    flat = np.ascontiguousarray(rows.transpose(1, 0, 2).reshape(length, -1))  # length x (rows*channels)
    blurred = cv2.GaussianBlur(flat, (1, 0), sigmaX=1e-6, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return blurred.reshape(length, rows.shape[0], rows.shape[2]).transpose(1, 0, 2)


def _profile(side: np.ndarray) -> np.ndarray:
    """(BORDER_OUTER, length, channels): the outer rows minus the mean of the band inside, smoothed."""
    outer = side[:BORDER_OUTER].astype(np.float32)
    inner = side[BORDER_OUTER : BORDER_OUTER + BORDER_INNER].astype(np.float32).mean(axis=0)
    return _smooth_along(outer - inner[None])


@dataclass(frozen=True)
class EdgeProfile:
    """The four sides' edge profiles of a picture (see the module text)."""

    sides: tuple[np.ndarray, ...]
    shape: tuple[int, ...]


def edge_profile(pixels: np.ndarray) -> EdgeProfile | None:
    """The edge profile of an H x W x 3 picture; None when it is too small to have one."""
    if min(pixels.shape[:2]) < MIN_SIDE:
        return None
    return EdgeProfile(tuple(_profile(side) for side in _sides(pixels)), pixels.shape)


def match_edges(
    pixels: np.ndarray, t: float, first: EdgeProfile | None, last: EdgeProfile | None
) -> np.ndarray:
    """``pixels`` (uint8, a frame at ``t`` between two keyframes with profiles ``first`` and ``last``)
    with its outer strips given the profile interpolated between theirs; a new read-only array.
    Returned as given when a profile is missing or was taken at another frame size."""
    if first is None or last is None or not (first.shape == last.shape == pixels.shape):
        return pixels
    image = pixels.astype(np.float32)
    for side, a, b in zip(_sides(image), first.sides, last.sides, strict=True):
        wanted = (1.0 - t) * a + t * b
        side[:BORDER_OUTER] += wanted - _profile(side)  # views: writes reach ``image``
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    out.flags.writeable = False
    return out
