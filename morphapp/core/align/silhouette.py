"""Silhouette refinement for one subject that changes pose: a dog standing, then sitting, in one place.

The feature path lines the shared parts up (the head, the front legs, the scene behind: a global fit
and coarse optical flow), but a part that moved a lot (the hind quarters dropping to a sit) finds
no flow at 128 px and fades out while its new pose fades in: a ghost. When both keyframes show one
subject against a background (``subject_mask``), this step pulls b's silhouette onto a's geometry
with the feature path's points and snaps the outlines together:

1. ``SAMPLES`` points evenly along a's outline; each pairs with the nearest point of the pulled b
   outline; the offsets are smoothed along the outline (``SMOOTHING`` samples), so neighbours rarely
   cross (the fold check catches the rest). Where the outlines already meet (offset under ``STILL`` of
   the side) the outline point is an anchor that stays where the feature path's warp puts it.
2. Those pairs, carried into b's own coordinates through the feature path's warp, join its points;
   its grid points within ``CLEARANCE`` of an outline point that moves are dropped (they would hold
   the moving part back and fold the warp).
3. Kept only when the warp does not fold (``POSE_MIN_JACOBIAN``; ``SHARES``: the full offsets, then
   gentler ones), the masks' overlap rises by ``MIN_IOU_GAIN``, what lies inside the outlines does not
   get further apart, and the whole frame comes ``MIN_GAIN_DB`` closer than with the feature path's
   points alone.

Only for one scene or object (the feature path found a global fit): between two different subjects
nearest-point pairing is not a correspondence (two dogs' outlines fold at once). Figures:
bench/README.md, "Silhouette refinement".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from morphapp.core.align.guard import min_jacobian, pull_b, similarity
from morphapp.core.align.subject import inner_similarity, mask_iou, pull_mask, subject_mask
from morphapp.core.align.warp import TpsField
from morphapp.core.domain.points import SegmentPoints

SAMPLES = 48  # points along a's outline
SMOOTHING = 2.0  # Gaussian width (in samples) of the offsets' smoothing along the outline
STILL = 0.02  # offsets under this (fraction of the side) mean the outlines already meet there
CLEARANCE = 0.12  # the feature path's points this near a moving outline point are dropped (fraction)
EDGE_KEEP = 0.03  # outline points nearer the frame border than this are left out (the frame's edge)
SHARES = (1.0, 0.75, 0.5)  # of the offsets: the full snap, then gentler ones when it folds
# A pose change compresses a part for real (the hind quarters folding into a sit), as a face does
# (faces.FACE_MIN_JACOBIAN): only a near-fold is refused. With the feature path's 0.25 the dog's snap
# stopped at 75 % (Jacobian 0.18-0.23) and left a haze where the standing back half was.
POSE_MIN_JACOBIAN = 0.1
MIN_MOVING = 4  # fewer moving outline points: nothing worth a change
MIN_IOU_GAIN = 0.05
MIN_GAIN_DB = 0.5  # the whole frame's structure, over the feature path's points alone


@dataclass(frozen=True)
class Refined:
    points: SegmentPoints
    detail: str
    after_db: float


def _outline(mask: np.ndarray) -> np.ndarray:
    """The largest outline of ``mask`` (N x 2, pixel coordinates, centres at i + 0.5)."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64) + 0.5


def _even(contour: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced by arc length along a closed contour."""
    closed = np.vstack([contour, contour[:1]])
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
    at = np.linspace(0.0, arc[-1], count, endpoint=False)
    return np.stack([np.interp(at, arc, closed[:, 0]), np.interp(at, arc, closed[:, 1])], 1)


def _smooth_round(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of (N x 2) values along a closed loop."""
    reach = max(1, int(np.ceil(2 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.vstack([values[-reach:], values, values[:reach]])
    return np.stack([np.convolve(padded[:, i], taps, mode="valid") for i in (0, 1)], 1)


def _carried(points: SegmentPoints, xy: np.ndarray) -> np.ndarray:
    """Where ``points``' warp sends positions of a's geometry (normalised) in b."""
    ctrl = torch.tensor(points, dtype=torch.float64)
    field = TpsField.fit(ctrl[:, :2], ctrl[:, 2:] - ctrl[:, :2])
    return xy + field(torch.from_numpy(xy)).numpy()


def refine_by_silhouette(
    pixels_a: np.ndarray,
    pixels_b: np.ndarray,
    judge_a: np.ndarray,
    judge_b: np.ndarray,
    points: SegmentPoints,
) -> Refined | None:
    """``points`` (the feature path's, normalised) with the subjects' outlines snapped together, or None
    when there is one subject per picture no more (or it already lines up, or the snap does not help)."""
    if len(points) < 4:
        return None
    mask_a, _ = subject_mask(pixels_a)
    mask_b, _ = subject_mask(pixels_b)
    if mask_a is None or mask_b is None or mask_a.shape != mask_b.shape:
        return None
    height, width = mask_a.shape
    size = np.array([width, height], dtype=np.float64)
    pulled = pull_mask(mask_b, points)
    if not pulled.any():
        return None
    iou_before = mask_iou(mask_a, pulled)
    along_a = _even(_outline(mask_a), SAMPLES)
    outline_b = _outline(pulled)
    nearest = outline_b[np.linalg.norm(along_a[:, None] - outline_b[None], axis=2).argmin(axis=1)]
    offsets = _smooth_round(nearest - along_a, SMOOTHING)
    source = along_a / size
    inside = np.minimum(source, 1.0 - source).min(axis=1) >= EDGE_KEEP
    moving = inside & (np.hypot(*(offsets / size).T) > STILL)
    if moving.sum() < MIN_MOVING:
        return None
    movers = source[moving]
    kept = tuple(p for p in points if np.hypot(movers[:, 0] - p[0], movers[:, 1] - p[1]).min() > CLEARANCE)
    base_db = similarity(judge_a, pull_b(judge_b, points))
    inner_base = inner_similarity(judge_a, judge_b, mask_a, mask_b, points)[1]
    # Where the outlines already meet, the outline point stays exactly where the feature path's warp
    # puts it (an anchor): its few pixels of nearest-point offset are noise, not a move.
    offsets = np.where(moving[:, None], offsets, 0.0)
    for share in SHARES:
        target = _carried(points, (along_a + share * offsets) / size)
        snapped = tuple(
            (float(xa), float(ya), float(xb), float(yb))
            for (xa, ya), (xb, yb) in zip(source[inside], target[inside], strict=True)
            if 0.0 <= xb <= 1.0 and 0.0 <= yb <= 1.0
        )
        candidate = kept + snapped
        if min_jacobian(candidate) < POSE_MIN_JACOBIAN:
            continue
        iou = mask_iou(mask_a, pull_mask(mask_b, candidate))
        after_db = similarity(judge_a, pull_b(judge_b, candidate))
        inner = inner_similarity(judge_a, judge_b, mask_a, mask_b, candidate)[1]
        if iou < iou_before + MIN_IOU_GAIN or after_db < base_db + MIN_GAIN_DB or inner < inner_base:
            return None  # a gentler snap would help less still
        gentler = "" if share == 1.0 else f", {share:.0%} of the way (the full snap folds)"
        return Refined(
            candidate,
            f"outlines snapped: {int(moving.sum())} of {SAMPLES} outline points moved{gentler}, overlap "
            f"{iou_before:.2f} -> {iou:.2f}, a-b similarity {base_db:.1f} -> {after_db:.1f} dB",
            after_db,
        )
    return None
