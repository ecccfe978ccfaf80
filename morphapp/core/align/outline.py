"""The outline path of auto-align: one subject per picture, paired by its silhouette.

For pairs that share a kind of subject but no features (a cat and a dog, a lion and a tiger, two
houses), where the feature path finds nothing and the morph would be a double exposure:

1. A subject mask per keyframe: GrabCut on a ``MASK_SIDE`` px copy, initialised with a rectangle
   inset ``INSET`` from the frame border (the border is taken as background: sky, studio backdrop,
   a wall, a table top); the largest component, holes filled. Implausible masks give up: under
   ``MIN_AREA`` or over ``MAX_AREA`` of the frame, or on more than ``MAX_BORDER_TOUCH`` of the
   inset rectangle's rim (the "subject" is the whole scene).
2. The outer contour of each, resampled to ``CONTOUR_POINTS`` points by arc length, turning the
   same way; b's start is the cyclic shift that brings the two outlines closest after centring
   and scaling each to unit spread (RMS radius).
3. Point pairs: ``PAIRS`` outline points spread evenly along a's outline (those near the frame
   border left out: there the outline is the frame's, not the subject's) and the masks'
   centroids. Their targets: a coarse fit (a's subject moved to b's centroid and stretched per
   axis to b's spread) plus ``DETAILS`` of the outline's own residual moves, smoothed along it;
   ``SHARES`` of the whole move (gentler when the full one folds). Moves are capped near the
   (pinned) frame border like the feature path's; a candidate whose warp would fold the frame at
   any t is dropped (``min_jacobian``).
4. The guard sees what the path is for: the masks' overlap (IoU of a's mask and b's mask pulled
   onto a with the points, versus unwarped). A warp is kept when the IoU rises by ``MIN_IOU_GAIN``
   to at least ``MIN_IOU``, and structural similarity (``similarity``) drops by no more than
   ``MAX_SIMILARITY_DROP_DB``. Otherwise no warp, and why.

Points are normalised coordinates of the fitted frames given, as every path's. Not yet called by
``auto_align``: tests/core/test_align.py's never-worse test asks every path but faces and camera
for a structural gain of ``FLOW_ONLY_GAIN_DB``, which this path (judged by overlap) does not give.

Measured (bench/bench_outline.py, 256², 9 frames, middle frame's cross-fade PSNR plain -> aligned):
house0 -> house1 20.4 -> 15.3 dB, lion -> tiger 22.1 -> 16.2, realdog0 -> realdog2 28.5 -> 18.1;
cat -> dog, mit -> thu, jeep -> dog: no warp (GrabCut does not find the cat; no plausible pair).
"""

from __future__ import annotations

import numpy as np

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
from morphapp.core.domain.points import SegmentPoints

MASK_SIDE = 160  # px: GrabCut runs on a copy of about this size (fast; outlines, not fur)
INSET = 0.04  # the GrabCut rectangle's inset from the frame border (fraction of each side)
GRABCUT_ITERATIONS = 5
MIN_AREA = 0.08  # a subject covers at least this share of the frame ...
MAX_AREA = 0.85  # ... and at most this
MAX_BORDER_TOUCH = 0.5  # share of the inset rectangle's rim the subject may cover
CONTOUR_POINTS = 128  # outline samples by arc length
EDGE_KEEP = 0.08  # outline points nearer the frame border than this (fraction of the side) are left out
BORDER_SLOPE = 0.5  # a point moves at most this times its distance to the (pinned) frame border
PAIRS = 16  # outline pairs (plus the centroids)
SHARES = (1.0, 0.6)  # full moves, and gentler ones when the full warp folds or falls short
DETAILS = (0.0, 0.5, 1.0)  # how much of the outline's own shape is followed over the coarse fit
MAX_STRETCH = 2.0  # the coarse fit stretches an axis at most this much
SMOOTH = 9  # outline moves are averaged over this many neighbouring samples
# The masks' overlap must rise by this much, to at least this. GrabCut often finds part of a
# subject only (house1's gable end, the tiger's head): a warp that lines a's outline up with that
# part reaches 0.6 (house0 -> house1: 0.43 -> 0.61, one house in the middle frame), not 0.75.
MIN_IOU_GAIN = 0.1
MIN_IOU = 0.55
MAX_SIMILARITY_DROP_DB = 0.3  # and structure may not get further apart than this


def subject_mask(pixels: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The subject's mask on a ``MASK_SIDE`` copy (bool, H x W), or None and why not."""
    import cv2

    small = resize(pixels, MASK_SIDE)
    height, width = small.shape[:2]
    dx, dy = max(2, round(INSET * width)), max(2, round(INSET * height))
    rect = (dx, dy, width - 2 * dx, height - 2 * dy)
    labels = np.zeros((height, width), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's colour models start from k-means: same picture, same mask
    bgr = np.ascontiguousarray(small[..., ::-1])
    try:
        cv2.grabCut(bgr, labels, rect, bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # a flat picture: no colour model to build
        return None, "no subject stands out from the background"
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    count, comp, stats, _centres = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 1:
        return None, "no subject stands out from the background"
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (comp == largest).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)  # holes filled
    area = float(filled.mean())
    if area < MIN_AREA:
        return None, f"the subject found covers {area:.0%} of the frame (too little to be one)"
    if area > MAX_AREA:
        return None, f"the subject found covers {area:.0%} of the frame (no background to tell it from)"
    x0, y0, x1, y1 = dx, dy, width - dx - 1, height - dy - 1
    rim = np.concatenate([filled[y0, x0:x1], filled[y1, x0:x1], filled[y0:y1, x0], filled[y0:y1, x1]])
    if rim.mean() > MAX_BORDER_TOUCH:
        return None, f"the subject found runs along {rim.mean():.0%} of the frame edge (the whole scene)"
    return filled.astype(bool), ""


def _outline(mask: np.ndarray, n: int = CONTOUR_POINTS) -> np.ndarray:
    """The mask's outer contour, n points evenly spaced by arc length, counter-clockwise on screen
    (pixel centres as continuous coordinates, i + 0.5)."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64) + 0.5
    if cv2.contourArea(contour.astype(np.float32), oriented=True) < 0:
        contour = contour[::-1]
    closed = np.vstack([contour, contour[:1]])
    steps = np.hypot(*np.diff(closed, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    ticks = np.linspace(0.0, along[-1], n, endpoint=False)
    return np.stack([np.interp(ticks, along, closed[:, i]) for i in (0, 1)], axis=1)


def _matched_start(outline_a: np.ndarray, outline_b: np.ndarray) -> np.ndarray:
    """b's outline rolled so that point i pairs with a's point i: the cyclic shift with the least
    summed squared distance once each outline is centred and scaled to unit spread."""

    def norm(outline: np.ndarray) -> np.ndarray:
        centred = outline - outline.mean(axis=0)
        return centred / max(float(np.sqrt((centred**2).sum(axis=1).mean())), 1e-9)

    na, nb = norm(outline_a), norm(outline_b)
    costs = [float(((na - np.roll(nb, -shift, axis=0)) ** 2).sum()) for shift in range(len(nb))]
    return np.roll(outline_b, -int(np.argmin(costs)), axis=0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def _pull_mask(mask: np.ndarray, points: SegmentPoints) -> np.ndarray:
    image = np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)
    return pull_b(image, points)[..., 0] > 127


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
    height, width = mask_a.shape
    outline_a = _outline(mask_a)
    outline_b = _matched_start(outline_a, _outline(mask_b))
    size = np.array([width, height], dtype=np.float64)
    edge_a = (np.minimum(outline_a, size - outline_a) / size).min(axis=1)
    edge_b = (np.minimum(outline_b, size - outline_b) / size).min(axis=1)
    inside = np.flatnonzero((edge_a >= EDGE_KEEP) & (edge_b >= EDGE_KEEP))
    if len(inside) < 6:
        return no_warp("outline: the subjects' outlines run along the frame edge", before)
    iou_before = _iou(mask_a, mask_b)
    # The coarse fit: b's subject is a's moved and stretched to the same centre and spread per axis.
    coords_a, coords_b = np.argwhere(mask_a)[:, ::-1] + 0.5, np.argwhere(mask_b)[:, ::-1] + 0.5
    centre_a, centre_b = coords_a.mean(axis=0), coords_b.mean(axis=0)
    stretch = np.clip(
        coords_b.std(axis=0) / np.maximum(coords_a.std(axis=0), 1e-6), 1 / MAX_STRETCH, MAX_STRETCH
    )

    def coarse(xy: np.ndarray) -> np.ndarray:
        return centre_b + (xy - centre_a) * stretch

    # The outline's own moves on top, smoothed along it (neighbours moving apart fold the warp).
    residual = outline_b - coarse(outline_a)
    kernel = np.ones(SMOOTH) / SMOOTH
    residual = np.stack(
        [
            np.convolve(np.concatenate([r[-SMOOTH:], r, r[:SMOOTH]]), kernel, "same")[SMOOTH:-SMOOTH]
            for r in residual.T
        ],
        axis=1,
    )

    def points_for(count: int, detail: float, share: float) -> SegmentPoints:
        pick = inside[np.linspace(0, len(inside), min(count, len(inside)), endpoint=False).astype(int)]
        src = np.vstack([outline_a[pick], centre_a])
        dst = np.vstack([coarse(outline_a[pick]) + detail * residual[pick], centre_b])
        src, dst = src / size, dst / size
        move = (dst - src) * share
        edge = np.minimum(src, 1.0 - src).min(axis=1)
        length = np.maximum(np.hypot(move[:, 0], move[:, 1]), 1e-9)
        move *= np.minimum(1.0, BORDER_SLOPE * edge / length)[:, None]
        dst = np.clip(src + move, 0.0, 1.0)
        return tuple(
            (float(xa), float(ya), float(xb), float(yb)) for (xa, ya), (xb, yb) in zip(src, dst, strict=True)
        )

    best: tuple[float, float, SegmentPoints, int] | None = None  # iou, similarity, points, pairs
    folds = tried = 0
    for share in SHARES:
        for detail in DETAILS:
            tried += 1
            points = points_for(PAIRS, detail, share)
            if min_jacobian(points) < MIN_JACOBIAN:
                folds += 1
                continue
            after_sim = similarity(judge_a, pull_b(judge_b, points))
            if after_sim < before - MAX_SIMILARITY_DROP_DB:
                continue
            iou = _iou(mask_a, _pull_mask(mask_b, points))
            if best is None or iou > best[0]:
                best = (iou, after_sim, points, PAIRS)
        if best is not None and best[0] >= MIN_IOU:
            break  # gentler moves only when the full ones fold or fall short
    areas = f"subject {mask_a.mean():.0%} / {mask_b.mean():.0%} of the frame"
    if best is None:
        reason = (
            "outline: every warp found would fold the image over itself"
            if folds == tried
            else f"outline: every warp moves structure apart by more than {MAX_SIMILARITY_DROP_DB} dB"
        )
        return no_warp(reason, before)
    iou, after_sim, points, count = best
    if iou < iou_before + MIN_IOU_GAIN or iou < MIN_IOU:
        return no_warp(
            f"outline: the subjects' overlap {iou_before:.2f} -> {iou:.2f}, "
            f"needs +{MIN_IOU_GAIN} to >= {MIN_IOU}",
            before, after=after_sim,
        )  # fmt: skip
    confidence = float(min(1.0, max(0.0, (iou - iou_before) / 0.3)))
    return AlignResult(
        points, "outline", 0, confidence, before, after_sim, needed_db=-MAX_SIMILARITY_DROP_DB,
        detail=f"{count} outline pairs, {areas}, overlap {iou_before:.2f} -> {iou:.2f}",
    )  # fmt: skip
