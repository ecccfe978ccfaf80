"""The outline path of auto-align: one subject per picture, paired by its silhouette.

For pairs that share a kind of subject but no features (a lion and a tiger, two houses, two
dogs), where the feature path finds nothing and the morph would be a double exposure:

1. A subject mask per keyframe (``core/align/subject.py``: GrabCut seeded by the border's colours).
2. Sanity of the pair: the two subjects' areas within ``MAX_AREA_RATIO`` of each other, and their
   shapes alike once each is centred and stretched per axis to the other's spread (the masks'
   IoU then, ``MIN_SHAPE_IOU``): a cat's face close up and a standing dog are not one silhouette.
3. Point pairs, by direction from the subject's centre: in each of ``RAYS`` directions (measured
   after the per-axis normalisation, so a tall and a wide subject still pair top with top) the
   outline's farthest point in a and in b. Directions run round both outlines the same way, so
   neighbouring pairs never cross (pairing by arc length folded where an outline ran along the frame
   edge). Pairs near the frame edge are left out (there the outline is the frame's); the centres
   pair too, and a ring halfway out keeps the inside smooth. Targets: the coarse fit (centre and
   per-axis spread) plus ``DETAILS`` of the outline's own shape; ``SHARES`` of the whole move.
   Moves are capped near the (pinned) frame border like the feature path's; a warp that folds the
   frame at any t is dropped (``min_jacobian``).
4. The guard sees what the path is for: the masks' overlap (IoU of a's mask and b's mask pulled
   onto a with the points, versus unwarped), and what lies inside the outlines (structural
   similarity, ``similarity``, where both subjects are). A warp is kept when the IoU rises by
   ``MIN_IOU_GAIN`` to at least ``MIN_IOU``, the inside comes ``MIN_INNER_GAIN_DB`` closer (a
   lion's silhouette fitted to a tiger's left the eyes stacked, and the inside further apart), and
   the whole frame's similarity drops by no more than ``MAX_SIMILARITY_DROP_DB``. Otherwise no
   warp, and why.

Points are normalised coordinates of the fitted frames given, as every path's. Figures:
bench/README.md, "Subject outlines" (bench/bench_outline.py).
"""

from __future__ import annotations

import numpy as np

from morphapp.core.align.both_ways import swapped
from morphapp.core.align.guard import (
    ALIGNED_DB,
    JUDGE_SIDE,
    MIN_JACOBIAN,
    AlignResult,
    min_jacobian,
    no_warp,
    pull_b,
    resize,
    similarity,
)
from morphapp.core.align.subject import inner_similarity, mask_iou, pull_mask, subject_mask
from morphapp.core.domain.points import SegmentPoints

__all__ = ["outline_align", "subject_mask"]

RAYS = 16  # outline pairs, one per direction from the centre
EDGE_KEEP = 0.06  # outline points nearer the frame border than this (fraction of the side) are left out
BORDER_SLOPE = 0.5  # a point moves at most this times its distance to the (pinned) frame border
SHARES = (1.0, 0.6)  # full moves, and gentler ones when the full warp folds or falls short
DETAILS = (1.0, 0.5, 0.0)  # how much of the outline's own shape is followed over the coarse fit
MAX_STRETCH = 2.0  # the coarse fit stretches an axis at most this much
MAX_AREA_RATIO = 2.5  # one subject at most this many times the other's area
MIN_SHAPE_IOU = 0.6  # the masks' IoU after the coarse fit: below, the silhouettes are not alike
# The masks' overlap must rise by this much, to at least this: one silhouette in the middle frame ...
MIN_IOU_GAIN = 0.1
MIN_IOU = 0.6
# ... the insides of the subjects come closer by this much (structure similarity where both subjects
# are, dB): a silhouette fitted over features that land apart (a lion's eyes above a tiger's) drops it ...
MIN_INNER_GAIN_DB = 0.1
MAX_SIMILARITY_DROP_DB = 0.3  # ... and the whole frame's structure gets no further apart than this


def _spread(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask's centre and per-axis spread (x, y; pixel centres at i + 0.5)."""
    coords = np.argwhere(mask)[:, ::-1] + 0.5
    return coords.mean(axis=0), np.maximum(coords.std(axis=0), 1e-6)


def _rays(mask: np.ndarray, centre: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """The outline's farthest point in each of ``RAYS`` directions from ``centre`` (RAYS x 2, pixels),
    directions taken in coordinates scaled to unit ``spread`` per axis."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64) + 0.5
    unit = (contour - centre) / spread
    angle = np.arctan2(unit[:, 1], unit[:, 0])
    radius = np.hypot(unit[:, 0], unit[:, 1])
    out = np.empty((RAYS, 2))
    width = np.pi / RAYS  # each ray looks at the outline within half a step either side
    for i, theta in enumerate(np.linspace(-np.pi, np.pi, RAYS, endpoint=False)):
        near = np.abs(np.angle(np.exp(1j * (angle - theta)))) <= width
        reach = float(radius[near].max()) if near.any() else float(radius.mean())
        out[i] = centre + reach * np.array([np.cos(theta), np.sin(theta)]) * spread
    return out


def outline_align(pixels_a: np.ndarray, pixels_b: np.ndarray) -> AlignResult:
    """Outline correspondences between two fitted keyframes (H x W x 3 uint8, same size), or no warp."""
    judge_a, judge_b = resize(pixels_a, JUDGE_SIDE), resize(pixels_b, JUDGE_SIDE)
    before = similarity(judge_a, judge_b)
    if before >= ALIGNED_DB:
        return no_warp(f"the keyframes already line up ({before:.0f} dB)", before)
    mask_a, why_a = subject_mask(pixels_a)
    if mask_a is None:
        return no_warp(f"outline: keyframe a: {why_a}", before)
    mask_b, why_b = subject_mask(pixels_b)
    if mask_b is None:
        return no_warp(f"outline: keyframe b: {why_b}", before)
    if mask_b.shape != mask_a.shape:  # pragma: no cover - same-size frames give same-size copies
        import cv2

        mask_b = cv2.resize(mask_b.astype(np.uint8), mask_a.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    forward = _one_way(judge_a, judge_b, mask_a, mask_b, before)
    if forward.points:
        return forward
    # Rays from b's outline to a's may pair where a's to b's do not (house1 -> house0 folded, house0 ->
    # house1 did not): the pair gets one verdict whichever way it is morphed. Those points passed the
    # guard from b's side; seen from a's they must do no harm: the overlap rises by the same step (the
    # absolute bar is b's: a small subject pulled onto a large one overlaps it less, house1 onto house0
    # 0.55 where house0 onto house1 is 0.64), the inside comes no further apart, the frame's structure
    # drops no more than on the forward path.
    points = swapped(_one_way(judge_b, judge_a, mask_b, mask_a, before).points)
    if not points or min_jacobian(points) < MIN_JACOBIAN:
        return forward
    after_sim = similarity(judge_a, pull_b(judge_b, points))
    iou_before, iou = mask_iou(mask_a, mask_b), mask_iou(mask_a, pull_mask(mask_b, points))
    inner_before, inner_after = inner_similarity(judge_a, judge_b, mask_a, mask_b, points)
    if (
        after_sim < before - MAX_SIMILARITY_DROP_DB
        or iou < iou_before + MIN_IOU_GAIN
        or inner_after < inner_before
    ):
        return forward
    return AlignResult(
        points, "outline", 0, float(min(1.0, max(0.0, (iou - iou_before) / 0.3))), before, after_sim,
        needed_db=-MAX_SIMILARITY_DROP_DB,
        detail=(
            f"paired from b's outline, subject {mask_a.mean():.0%} / {mask_b.mean():.0%} of the frame, "
            f"overlap {iou_before:.2f} -> {iou:.2f}, inside the subjects {inner_before:.1f} -> "
            f"{inner_after:.1f} dB"
        ),
    )  # fmt: skip


def _one_way(
    judge_a: np.ndarray, judge_b: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray, before: float
) -> AlignResult:
    """Outline pairs from a's rays to b's, judged as the module text says, or no warp."""
    areas = f"subject {mask_a.mean():.0%} / {mask_b.mean():.0%} of the frame"
    ratio = float(max(mask_a.mean(), mask_b.mean()) / min(mask_a.mean(), mask_b.mean()))
    if ratio > MAX_AREA_RATIO:
        return no_warp(f"outline: one subject is {ratio:.1f}x the other's size ({areas})", before)
    height, width = mask_a.shape
    size = np.array([width, height], dtype=np.float64)
    centre_a, spread_a = _spread(mask_a)
    centre_b, spread_b = _spread(mask_b)
    stretch = np.clip(spread_b / spread_a, 1 / MAX_STRETCH, MAX_STRETCH)

    def coarse(xy: np.ndarray) -> np.ndarray:  # a's subject moved and stretched onto b's
        return centre_b + (xy - centre_a) * stretch

    import cv2

    inverse = np.array([[1 / stretch[0], 0.0, 0.0], [0.0, 1 / stretch[1], 0.0]])
    inverse[:, 2] = centre_a - centre_b / stretch - 0.5 + 0.5 / stretch  # pixel indices, OpenCV's way
    b_on_a = cv2.warpAffine(mask_b.astype(np.uint8), inverse, (width, height), flags=cv2.INTER_NEAREST) > 0
    shape_iou = mask_iou(mask_a, b_on_a)
    if shape_iou < MIN_SHAPE_IOU:
        return no_warp(
            f"outline: the subjects' silhouettes are not alike (overlap {shape_iou:.2f} once centred and "
            f"scaled, needs >= {MIN_SHAPE_IOU})",
            before,
        )  # fmt: skip
    rays_a = _rays(mask_a, centre_a, spread_a)
    rays_b = _rays(mask_b, centre_b, spread_b)
    edge_a = (np.minimum(rays_a, size - rays_a) / size).min(axis=1)
    edge_b = (np.minimum(rays_b, size - rays_b) / size).min(axis=1)
    inside = (edge_a >= EDGE_KEEP) & (edge_b >= EDGE_KEEP)
    if inside.sum() < 6:
        return no_warp("outline: the subjects' outlines run along the frame edge", before)
    iou_before = mask_iou(mask_a, mask_b)

    def points_for(detail: float, share: float) -> SegmentPoints:
        residual = rays_b - coarse(rays_a)
        outer_src = rays_a[inside]
        outer_dst = coarse(outer_src) + detail * residual[inside]
        halfway = (rays_a + centre_a) / 2  # a ring halfway out: the inside moves with the outline
        src = np.vstack([outer_src, halfway, centre_a]) / size
        dst = np.vstack([outer_dst, coarse(halfway) + 0.5 * detail * residual, centre_b]) / size
        move = (dst - src) * share
        edge = np.minimum(src, 1.0 - src).min(axis=1)
        length = np.maximum(np.hypot(move[:, 0], move[:, 1]), 1e-9)
        move *= np.minimum(1.0, BORDER_SLOPE * edge / length)[:, None]
        dst = np.clip(src + move, 0.0, 1.0)
        return tuple(
            (float(xa), float(ya), float(xb), float(yb)) for (xa, ya), (xb, yb) in zip(src, dst, strict=True)
        )

    best: tuple[float, float, SegmentPoints] | None = None  # iou, similarity, points
    folds = tried = 0
    for share in SHARES:
        for detail in DETAILS:
            tried += 1
            points = points_for(detail, share)
            if min_jacobian(points) < MIN_JACOBIAN:
                folds += 1
                continue
            after_sim = similarity(judge_a, pull_b(judge_b, points))
            if after_sim < before - MAX_SIMILARITY_DROP_DB:
                continue
            iou = mask_iou(mask_a, pull_mask(mask_b, points))
            if best is None or iou > best[0]:
                best = (iou, after_sim, points)
        if best is not None and best[0] >= MIN_IOU:
            break  # gentler moves only when the full ones fold or fall short
    if best is None:
        reason = (
            "outline: every warp found would fold the image over itself"
            if folds == tried
            else f"outline: every warp moves structure apart by more than {MAX_SIMILARITY_DROP_DB} dB"
        )
        return no_warp(reason, before)
    iou, after_sim, points = best
    if iou < iou_before + MIN_IOU_GAIN or iou < MIN_IOU:
        return no_warp(
            f"outline: the subjects' overlap {iou_before:.2f} -> {iou:.2f}, "
            f"needs +{MIN_IOU_GAIN} to >= {MIN_IOU}",
            before, after=after_sim,
        )  # fmt: skip
    inner_before, inner_after = inner_similarity(judge_a, judge_b, mask_a, mask_b, points)
    inner = f"inside the subjects {inner_before:.1f} -> {inner_after:.1f} dB"
    if inner_after < inner_before + MIN_INNER_GAIN_DB:
        return no_warp(
            f"outline: the outlines meet but not what is inside them (overlap {iou_before:.2f} -> {iou:.2f}, "
            f"{inner}, needs a gain of {MIN_INNER_GAIN_DB} dB)",
            before, after=after_sim,
        )  # fmt: skip
    confidence = float(min(1.0, max(0.0, (iou - iou_before) / 0.3)))
    return AlignResult(
        points, "outline", 0, confidence, before, after_sim, needed_db=-MAX_SIMILARITY_DROP_DB,
        detail=f"{int(inside.sum())} outline pairs, {areas}, overlap {iou_before:.2f} -> {iou:.2f}, {inner}",
    )  # fmt: skip
