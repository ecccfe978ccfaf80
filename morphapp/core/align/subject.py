"""The subject's mask in one keyframe, for the outline path (``core/align/outline.py``).

The frame's border is taken to show the background (sky, studio backdrop, a wall, grass, a table
top), except where the subject runs out of the frame. So:

1. The colours of a ``RING`` wide strip along the border (Lab, softened) are clustered
   (k-means, ``VOTES``: 8, 10 and 6 clusters, one GrabCut run each, step 2; the mask is their
   majority -- the third run skipped when the first two agree -- so that a colour on the edge of
   being background does not flip the mask with the frame size the analysis copy was made from).
   A cluster is background when it is rarer in the frame's centre box than along the border, or
   when it spans the frame (on two opposite sides) and is not much commoner in the centre: a
   subject cut by the bottom edge shows its colours in the centre too and is not taken for
   background; a hedge band behind a dog is.
2. GrabCut starts from those colours: border pixels of a background colour are certain background,
   a side of the border that is mostly background is all background (textured scenery between),
   other background-coloured pixels probable background, the rest probable subject. No rectangle:
   a subject may run out of the frame (a bust, a head close up).
3. The largest component, opened (specks off) and holes filled. Implausible masks give up: under
   ``MIN_AREA`` or over ``MAX_AREA`` of the frame, on more than ``MAX_BORDER_TOUCH`` of the border
   (the "subject" is the whole scene), or the largest part under ``MIN_MAIN`` of what was found
   (no one subject).
"""

from __future__ import annotations

import numpy as np

from morphapp.core.align.guard import pull_b, resize, similarity
from morphapp.core.domain.points import SegmentPoints

MASK_SIDE = 160  # px: GrabCut runs on a copy of about this size (fast; outlines, not fur)
RING = 0.05  # the border strip whose colours are taken as background (fraction of the shorter side)
COLOUR_TOLERANCE = 12.0  # Lab distance within which a pixel has a cluster's colour
CENTRE = (0.3, 0.7)  # the centre box (fraction of each side) that a subject is expected to cover
MIN_CLUSTER_SHARE = 0.02  # a cluster covering less of the border is noise
SIDE_PRESENCE = 0.1  # a cluster is on a side when it covers this much of that side's strip
MOSTLY_BACKGROUND = 0.6  # a side this much background-coloured is taken as background throughout
GRABCUT_ITERATIONS = 5
# GrabCut runs with the border colours clustered this many ways; a pixel is subject when most runs say
# so. One clustering flips a borderline colour (house1's snow) with the frame size the copy came from.
VOTES = (8, 10, 6)
SETTLED = 0.005  # the first two runs differ on less than this share of the pixels: the third is not run
MIN_AREA = 0.08  # a subject covers at least this share of the frame ...
MAX_AREA = 0.8  # ... and at most this
MAX_BORDER_TOUCH = 0.5  # share of the border the subject may run along
MIN_MAIN = 0.8  # the largest component holds at least this share of the subject pixels found


def _border_strips(height: int, width: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The whole border strip and its four sides (top, bottom, left, right) as bool masks."""
    r = max(3, round(RING * min(height, width)))
    sides = []
    for part in (np.s_[:r, :], np.s_[-r:, :], np.s_[:, :r], np.s_[:, -r:]):
        side = np.zeros((height, width), bool)
        side[part] = True
        sides.append(side)
    return np.logical_or.reduce(sides), sides


def _background_like(lab: np.ndarray, ring: np.ndarray, sides: list[np.ndarray], clusters: int) -> np.ndarray:
    """Pixels whose colour is one of the border's background colours (bool, H x W)."""
    import cv2

    height, width = lab.shape[:2]
    lo, hi = CENTRE
    centre = np.zeros((height, width), bool)
    centre[round(lo * height) : round(hi * height), round(lo * width) : round(hi * width)] = True
    cv2.setRNGSeed(0)  # k-means starts at random: the same picture gives the same mask
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    samples = np.ascontiguousarray(lab[ring])
    _compactness, _labels, centres = cv2.kmeans(samples, clusters, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    distance = np.linalg.norm(lab[..., None, :] - centres[None, None], axis=-1)
    nearest, close = distance.argmin(axis=-1), distance.min(axis=-1) < COLOUR_TOLERANCE
    background = np.zeros(len(centres), bool)
    for k in range(len(centres)):
        has = (nearest == k) & close
        ring_share = float(has[ring].mean())
        centre_share = float(has[centre].mean())
        on = [float(has[side].mean()) > SIDE_PRESENCE for side in sides]
        spans = (on[0] and on[1]) or (on[2] and on[3])
        background[k] = ring_share > MIN_CLUSTER_SHARE and (
            centre_share < 0.5 * ring_share or (spans and centre_share < 2.5 * ring_share)
        )
    return background[nearest] & close


def _grabcut(small: np.ndarray, clusters: int) -> np.ndarray | None:
    """One GrabCut run seeded by the border's colours (clustered ``clusters`` ways): its subject pixels
    (uint8 0/1), or None when no subject stands out."""
    import cv2

    height, width = small.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), 1.0), cv2.COLOR_RGB2LAB).astype(np.float32)
    ring, sides = _border_strips(height, width)
    like = _background_like(lab, ring, sides, clusters)
    labels = np.full((height, width), cv2.GC_PR_FGD, np.uint8)
    labels[like] = cv2.GC_PR_BGD
    labels[like & ring] = cv2.GC_BGD
    for side in sides:
        if like[side].mean() > MOSTLY_BACKGROUND:
            labels[side] = cv2.GC_BGD
    if not (labels == cv2.GC_BGD).any() or (labels == cv2.GC_BGD).all():
        return None
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        no_rect = (0, 0, 0, 0)  # started from the labels, not a rectangle
        cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), labels, no_rect, bgd, fgd, GRABCUT_ITERATIONS,
                    cv2.GC_INIT_WITH_MASK)  # fmt: skip
    except cv2.error:  # a flat picture: no colour model to build
        return None
    return ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)


def subject_mask(pixels: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The subject's mask on a ``MASK_SIDE`` copy (bool, H x W), or None and why not."""
    import cv2

    small = resize(pixels, MASK_SIDE)
    height, width = small.shape[:2]
    votes = np.zeros((height, width), np.uint8)
    for count, clusters in enumerate(VOTES):
        run = _grabcut(small, clusters)
        if run is None:
            continue
        if count == 1 and float((votes != run).mean()) < SETTLED:  # two alike: a third decides little
            votes = (votes & run) * np.uint8(2)
            break
        votes += run
    majority = (votes * 2 > len(VOTES)).astype(np.uint8)
    found = cv2.morphologyEx(majority, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, comp, stats, _centres = cv2.connectedComponentsWithStats(found, connectivity=8)
    if count <= 1:
        return None, "no subject stands out from the background"
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    main = float(stats[largest, cv2.CC_STAT_AREA] / found.sum())
    main_part = (comp == largest).astype(np.uint8)
    contours, _ = cv2.findContours(main_part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros((height, width), np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)  # holes filled
    area = float(filled.mean())
    if area < MIN_AREA:
        return None, f"the subject found covers {area:.0%} of the frame (too little to be one)"
    if area > MAX_AREA:
        return None, f"the subject found covers {area:.0%} of the frame (no background to tell it from)"
    edge = np.concatenate([filled[0], filled[-1], filled[:, 0], filled[:, -1]])
    if edge.mean() > MAX_BORDER_TOUCH:
        return None, f"the subject found runs along {edge.mean():.0%} of the frame edge (the whole scene)"
    if main < MIN_MAIN:
        return None, f"the subject found falls apart (its largest part is {main:.0%} of it)"
    return filled.astype(bool), ""


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def pull_mask(mask: np.ndarray, points: SegmentPoints) -> np.ndarray:
    """b's subject mask resampled onto a's geometry with ``points`` (as ``pull_b`` does b's pixels)."""
    image = np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)
    return pull_b(image, points)[..., 0] > 127


def inner_similarity(
    judge_a: np.ndarray, judge_b: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray, points: SegmentPoints
) -> tuple[float, float]:
    """Structure similarity (dB, ``similarity``) of a and b where both subjects are, unwarped and with
    b pulled onto a: what lines up inside the outlines, which the whole frame's figure dilutes."""
    import cv2

    height, width = judge_a.shape[:2]

    def on_judge(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) > 0.5

    figures = []
    for b, mask in ((judge_b, mask_b), (pull_b(judge_b, points), pull_mask(mask_b, points))):
        both = on_judge(mask_a) & on_judge(mask)
        figures.append(similarity(judge_a, b, both) if both.sum() >= 64 else float("-inf"))
    return figures[0], figures[1]
