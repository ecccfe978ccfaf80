"""``--align auto``: find correspondences between two keyframes without hand-placed points.

1. Global alignment: ORB features (SIFT when ORB finds too few), ratio-tested matches, a RANSAC
   similarity transform (rotation, uniform scale, shift). Too few inliers: no global fit (photos
   of two *different* dogs or houses share no feature descriptors; then step 2 works alone).
2. Dense refinement: DIS optical flow between keyframe a and b pulled onto a's geometry, smoothed;
   kept only if it brings the pair closer than the global fit alone.
3. The result is a grid of point pairs, which feed the same thin-plate-spline warp as hand-placed
   points. It is kept only when warping b onto a's geometry with those points beats no warp by
   ``MIN_GAIN_DB`` (``FLOW_ONLY_GAIN_DB`` without a global fit) in ``similarity``: otherwise
   auto-align falls back to no warp (plain slerp).

Points returned are normalised coordinates of the *fitted frames* given (see ``frame_to_source``
to store them as source-image points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from morphapp.core.correspondence import PointPair, SegmentPoints, frame_to_source
from morphapp.core.images import load_image
from morphapp.core.keyframes import Keyframe
from morphapp.core.quality import psnr
from morphapp.core.settings import MorphSettings
from morphapp.core.timeline import segment_pairs
from morphapp.core.warp import sample_positions, segment_field, warp_pixels

MIN_INLIERS = 12
MIN_INLIER_RATIO = 0.25
MIN_GAIN_DB = 0.5  # alignment must bring b this much closer to a than no warp, or it is dropped
FLOW_ONLY_GAIN_DB = 1.5  # flow without a global fit (different objects) must gain more: it can overfit
GRID = 6  # points per side of the global grid
FLOW_GRID = 6  # points per side of the flow grid
ANALYSIS_SIDE = 256  # match on images of about this size (fast, and robust to fine texture)


@dataclass(frozen=True)
class AlignResult:
    points: SegmentPoints  # empty: no warp (fallback)
    method: str  # "none", "global", "global+flow"
    inliers: int
    confidence: float  # 0..1: inlier ratio of the global fit; flow alone: its gain in dB / 5
    psnr_before: float  # structural similarity of a and b, unwarped (dB, see ``similarity``)
    psnr_after: float  # the same for b pulled onto a with the points; = before on fallback
    reason: str = ""

    def describe(self) -> str:
        if not self.points:
            return f"auto-align: no warp ({self.reason})"
        return (
            f"auto-align: {self.method}, {len(self.points)} points, {self.inliers} inliers, "
            f"confidence {self.confidence:.2f}, a-b PSNR {self.psnr_before:.1f} -> {self.psnr_after:.1f} dB"
        )


def _fallback(reason: str, before: float, inliers: int = 0, confidence: float = 0.0) -> AlignResult:
    return AlignResult((), "none", inliers, confidence, before, before, reason)


def _small(pixels: np.ndarray) -> np.ndarray:
    import cv2

    height, width = pixels.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(height, width))
    if scale == 1.0:
        return pixels
    return cv2.resize(pixels, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def _global_transform(gray_a: np.ndarray, gray_b: np.ndarray) -> tuple[np.ndarray | None, int, float]:
    """2x3 similarity mapping a's pixels to b's, inlier count and ratio."""
    import cv2

    best: tuple[np.ndarray | None, int, float] = (None, 0, 0.0)
    for detector, norm in ((cv2.ORB_create(2000), cv2.NORM_HAMMING), (cv2.SIFT_create(2000), cv2.NORM_L2)):
        kp_a, des_a = detector.detectAndCompute(gray_a, None)
        kp_b, des_b = detector.detectAndCompute(gray_b, None)
        if des_a is None or des_b is None or len(kp_a) < 2 or len(kp_b) < 2:
            continue
        pairs = cv2.BFMatcher(norm).knnMatch(des_a, des_b, k=2)
        good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.75 * m[1].distance]
        if len(good) < MIN_INLIERS:
            continue
        src = np.float32([kp_a[m.queryIdx].pt for m in good])
        dst = np.float32([kp_b[m.trainIdx].pt for m in good])
        matrix, mask = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=5000, confidence=0.995
        )
        if matrix is None or mask is None:
            continue
        inliers = int(mask.sum())
        ratio = inliers / len(good)
        if inliers > best[1]:
            best = (matrix, inliers, ratio)
        if inliers >= 3 * MIN_INLIERS:
            break  # ORB was enough
    return best


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of the images' structure: grey, softened, each scaled to zero mean and unit spread,
    so two differently coloured but aligned shapes score high and misaligned ones low."""
    import cv2

    def norm(pixels: np.ndarray) -> np.ndarray:
        gray = cv2.GaussianBlur(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float64), (0, 0), 1.5)
        return (gray - gray.mean()) / max(gray.std(), 1e-6) * 48.0 + 128.0

    return psnr(norm(a), norm(b))


def _pull_b(pixels_b: np.ndarray, points: SegmentPoints) -> np.ndarray:
    """b resampled onto a's geometry with ``points`` (what the morph shows near t = 0)."""
    height, width = pixels_b.shape[:2]
    field = segment_field(points, 0.0, height, width)
    return warp_pixels(pixels_b, sample_positions(field, 1.0))


def auto_align(pixels_a: np.ndarray, pixels_b: np.ndarray) -> AlignResult:
    """Correspondences between two fitted keyframes (H x W x 3 uint8, same size)."""
    import cv2

    small_a, small_b = _small(pixels_a), _small(pixels_b)
    height, width = small_a.shape[:2]
    before = similarity(small_a, small_b)
    gray_a = cv2.cvtColor(small_a, cv2.COLOR_RGB2GRAY)
    gray_b = cv2.cvtColor(small_b, cv2.COLOR_RGB2GRAY)
    matrix, inliers, ratio = _global_transform(gray_a, gray_b)
    matched = matrix is not None and inliers >= MIN_INLIERS and ratio >= MIN_INLIER_RATIO
    no_match = f"{inliers} feature matches agree, too few for a global fit"
    if not matched:  # different objects: no global fit, but dense flow may still line shapes up
        matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

    def to_b(xy: np.ndarray) -> np.ndarray:  # continuous coords (pixel centres at i + 0.5), a -> b
        return (xy - 0.5) @ matrix[:, :2].T + matrix[:, 2] + 0.5

    ticks = np.linspace(0.1, 0.9, GRID)
    grid_a = np.array([(x * width, y * height) for y in ticks for x in ticks])
    points: SegmentPoints = _as_points(grid_a, to_b(grid_a), width, height) if matched else ()
    method = "global" if matched else "none"
    if matched and len(points) < 4:
        return _fallback("the aligned images hardly overlap", before, inliers, ratio)
    after = similarity(small_a, _pull_b(small_b, points)) if matched else before

    # Dense refinement: flow between a and b pulled onto a by the global fit.
    b_on_a = cv2.warpAffine(
        small_b, cv2.invertAffineTransform(matrix), (width, height), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(gray_a, cv2.cvtColor(b_on_a, cv2.COLOR_RGB2GRAY), None)
    flow = cv2.GaussianBlur(flow, (0, 0), sigmaX=max(2.0, width / 24))
    ticks = np.linspace(0.08, 0.92, FLOW_GRID)
    flow_a = np.array([(x * width, y * height) for y in ticks for x in ticks])
    ix = np.clip(np.floor(flow_a[:, 0]).astype(int), 0, width - 1)
    iy = np.clip(np.floor(flow_a[:, 1]).astype(int), 0, height - 1)
    refined = _as_points(flow_a, to_b(flow_a + flow[iy, ix]), width, height)
    if len(refined) >= 4:
        after_flow = similarity(small_a, _pull_b(small_b, refined))
        if after_flow > after + 0.2:
            points, after, method = refined, after_flow, "global+flow" if matched else "flow"
    if after < before + (MIN_GAIN_DB if matched else FLOW_ONLY_GAIN_DB):
        reason = f"alignment does not bring the images closer ({before:.1f} -> {after:.1f} dB)"
        if not matched:
            reason = f"{no_match}; optical flow: {reason}"
        return _fallback(reason, before, inliers, ratio)
    confidence = ratio if matched else min(1.0, (after - before) / 5.0)
    return AlignResult(points, method, inliers, confidence, before, after)


def _as_points(grid_a: np.ndarray, grid_b: np.ndarray, width: int, height: int) -> SegmentPoints:
    out: list[PointPair] = []
    for (xa, ya), (xb, yb) in zip(grid_a, grid_b, strict=True):
        na, nb = (xa / width, ya / height), (xb / width, yb / height)
        if all(0.0 <= v <= 1.0 for v in (*na, *nb)):
            out.append((float(na[0]), float(na[1]), float(nb[0]), float(nb[1])))
    return tuple(out)


def align_keyframes(
    keyframes: Sequence[Keyframe], settings: MorphSettings, note: Callable[[str], None] | None = None
) -> tuple[SegmentPoints, ...]:
    """``--align auto`` for a whole morph: points per segment (source-image coordinates, as a project
    stores them); a segment whose alignment fails gets none (plain slerp there)."""
    pairs = segment_pairs(len(keyframes), settings.loop)
    fit, background = settings.fit, settings.background
    loaded = [load_image(k.path, settings.size, fit, background) for k in keyframes]
    out: list[SegmentPoints] = []
    for seg, (a, b) in enumerate(pairs):
        result = auto_align(loaded[a].pixels, loaded[b].pixels)
        if note:
            note(f"segment {seg + 1}: {result.describe()}")
        points = []
        for xa, ya, xb, yb in result.points:
            sa = frame_to_source(xa, ya, loaded[a].source_size, settings.size, fit)
            sb = frame_to_source(xb, yb, loaded[b].source_size, settings.size, fit)
            points.append((*sa, *sb))
        out.append(tuple(points))
    return tuple(out)
