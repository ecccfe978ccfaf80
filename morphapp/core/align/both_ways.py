"""One verdict for a pair whichever way it is morphed: flow points judged from both keyframes.

Optical flow between two different subjects (two dogs' faces) is found from a to b; run from b to a
it gives other points, and the guard, which pulls b onto a's geometry, sees each from one side.
So a -> b could be aligned while b -> a came out as a double exposure (realdog0 -> realdog1: +1.3 dB,
kept; realdog1 -> realdog0: +0.3 dB, refused), and a loop's way back looked unlike its way out.
Here both runs' points are candidates (b -> a's swapped), each is judged from both sides (b pulled
onto a, and a pulled onto b with the pairs swapped), and the best mean gain decides: kept when the
mean reaches the flow path's bar and neither side gets worse, for both directions alike.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from morphapp.core.align.guard import (
    JUDGE_SIDE,
    MIN_JACOBIAN,
    AlignResult,
    min_jacobian,
    no_warp,
    pull_b,
    resize,
    similarity,
)
from morphapp.core.domain.points import SegmentPoints


def swapped(points: SegmentPoints) -> SegmentPoints:
    """The same pairs seen from the other keyframe: (xa, ya, xb, yb) -> (xb, yb, xa, ya)."""
    return tuple((xb, yb, xa, ya) for xa, ya, xb, yb in points)


def judge_both_ways(
    pixels_a: np.ndarray, pixels_b: np.ndarray, forward: AlignResult, backward: AlignResult, need_db: float
) -> AlignResult:
    """The better of ``forward`` (a -> b's flow result) and ``backward`` (b -> a's) for a -> b, judged
    from both sides, or no warp. Its similarity figures are the two sides' means."""
    judge_a, judge_b = resize(pixels_a, JUDGE_SIDE), resize(pixels_b, JUDGE_SIDE)
    before = similarity(judge_a, judge_b)  # the same figure either way round
    kept: tuple[float, str, AlignResult, SegmentPoints] | None = None  # mean gain, figures, result, points
    refused: tuple[float, str] | None = None  # the best candidate turned down: its mean gain, figures
    for result, points in ((forward, forward.points), (backward, swapped(backward.points))):
        # Swapping the pairs swaps the morph's two sampling maps: the fold check reads the same.
        if not points or min_jacobian(points) < MIN_JACOBIAN:
            continue
        on_a = similarity(judge_a, pull_b(judge_b, points)) - before
        on_b = similarity(judge_b, pull_b(judge_a, swapped(points))) - before
        mean = (on_a + on_b) / 2
        figures = (
            f"a-b similarity {before:.1f} dB; b pulled onto a {on_a:+.1f} dB, a pulled onto b {on_b:+.1f} dB"
        )
        if mean >= need_db and min(on_a, on_b) >= 0.0:
            if kept is None or mean > kept[0]:
                kept = (mean, figures, result, points)
        elif refused is None or mean > refused[0]:
            refused = (mean, figures)
    if kept is not None:
        mean, figures, result, points = kept
        way = "found from a" if result is forward else "found from b"
        return AlignResult(
            points, result.method, result.inliers, result.confidence, before, before + mean,
            needed_db=need_db, detail=f"{result.detail}, {way}, judged from both keyframes ({figures})",
        )  # fmt: skip
    if refused is None:
        return forward
    mean, figures = refused
    return no_warp(
        f"{forward.inliers} feature matches agree, too few for a global fit; optical flow, judged from both "
        f"keyframes: {figures}; lining the shapes up helps one picture but not the other (needs a mean gain "
        f"of {need_db:.1f} dB and neither side worse)",
        before, after=before + mean,
    )  # fmt: skip


def swapped_global(
    pixels_a: np.ndarray, pixels_b: np.ndarray, backward: AlignResult, need_db: float
) -> AlignResult:
    """b -> a's global fit (one scene or object, found only that way round: the ratio test and RANSAC
    are not symmetric near their limits) as a -> b's points, when b pulled onto a with them gains
    ``need_db`` without folding; else no warp."""
    judge_a, judge_b = resize(pixels_a, JUDGE_SIDE), resize(pixels_b, JUDGE_SIDE)
    before = similarity(judge_a, judge_b)
    points = swapped(backward.points)
    if not points or min_jacobian(points) < MIN_JACOBIAN:
        return no_warp("the global fit found from b would fold the image over itself", before)
    after = similarity(judge_a, pull_b(judge_b, points))
    if after < before + need_db:
        return no_warp(
            f"the global fit found from b: a-b similarity {before:.1f} -> {after:.1f} dB, needs a gain of "
            f"{need_db:.1f} dB",
            before, after=after,
        )  # fmt: skip
    return replace(backward, points=points, psnr_before=before, psnr_after=after, needed_db=need_db,
                   detail=f"{backward.detail}, found from b")  # fmt: skip
