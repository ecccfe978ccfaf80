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
    best: tuple[float, float, float, AlignResult, SegmentPoints] | None = None  # mean, a side, b side
    for result, points in ((forward, forward.points), (backward, swapped(backward.points))):
        if not points or min(min_jacobian(points), min_jacobian(swapped(points))) < MIN_JACOBIAN:
            continue
        on_a = similarity(judge_a, pull_b(judge_b, points)) - before
        on_b = similarity(judge_b, pull_b(judge_a, swapped(points))) - before
        mean = (on_a + on_b) / 2
        if best is None or mean > best[0]:
            best = (mean, on_a, on_b, result, points)
    if best is None:
        return forward
    mean, on_a, on_b, result, points = best
    figures = f"a-b similarity {before:.1f} dB, {on_a:+.1f} from a's side, {on_b:+.1f} from b's"
    if mean < need_db or min(on_a, on_b) < 0.0:
        return no_warp(
            f"optical flow, judged from both keyframes: {figures}; needs a mean gain of {need_db:.1f} dB "
            "and neither side worse",
            before, after=before + mean,
        )  # fmt: skip
    way = "found from a" if result is forward else "found from b"
    return AlignResult(
        points, result.method, result.inliers, result.confidence, before, before + mean, needed_db=need_db,
        detail=f"{result.detail}, {way}, judged from both keyframes ({figures})",
    )  # fmt: skip
