"""``--align auto``: find correspondences between two keyframes without hand-placed points.

1. Global alignment (same object or scene, moved, turned or zoomed): SIFT on downscaled,
   CLAHE-equalised grey, Lowe's ratio test, a RANSAC similarity (rotation, uniform scale, shift;
   ``estimateAffinePartial2D``, inlier threshold 1.5 % of the side). Too few inliers or an
   implausible fit (scale beyond 2x, rotation beyond 30 degrees): no global fit -- photos of two
   *different* dogs or houses share no feature descriptors; then step 2 works alone.
2. Dense refinement: DIS optical flow on coarse (128 px) equalised grey between a and b pulled
   onto a by the global fit, forward and backward; only flow that agrees both ways is kept, and
   spread by normalised convolution into a smooth field, sampled on a 7 x 7 grid.
3. Candidates (the global fit; global + all of the flow; global + half of it) are point grids
   that feed the same thin-plate-spline warp as hand-placed points. Moves are capped near the
   frame border (which the warp pins) and a candidate whose warp would fold the frame at any t
   is dropped (``min_jacobian``).
   With a global fit (one subject in one place) a part that moved too far for the flow (a dog
   sitting down) is caught by snapping the subjects' outlines together
   (``core/align/silhouette.py``), kept only when that brings the pictures closer still.
4. Never worse than no warp: the best candidate is kept only when pulling b onto a's geometry
   with it raises their structural similarity (``similarity``, pixel space) by ``MIN_GAIN_DB``
   (``FLOW_ONLY_GAIN_DB`` without a global fit); otherwise no warp (plain slerp), and says why.
   Flow alone is run from both keyframes and judged from both (``features_both_ways``), so a pair
   gets one verdict whichever way it is morphed.

On different objects (the test pairs: two dogs, two heads, two houses) only step 2 applies, and
it lines up coarse shapes (a nose, a silhouette), not every feature a person would pair: on
the hand-placed points of tests/data it closes 3-17 % of the gap (bench/bench_warp.py).

Points returned are normalised coordinates of the *fitted frames* given (see ``frame_to_source``
to store them as source-image points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from morphapp.core.align.guard import (
    ALIGNED_DB,
    MIN_JACOBIAN,
    AlignResult,
    min_jacobian,
    no_warp,
    pull_b,
    resize,
    similarity,
)
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.choices import ALIGN_MODES
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.points import PointPair, SegmentPoints, frame_to_source
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.timeline.plan import segment_pairs

MIN_INLIERS = 10  # RANSAC inliers for a global fit
MIN_INLIER_RATIO = 0.2  # of the ratio-tested matches
MIN_GAIN_DB = 0.5  # alignment must bring b this much closer to a than no warp, or it is dropped
FLOW_ONLY_GAIN_DB = 0.4  # flow alone (different objects, no global fit): a small but measurable gain
FLOW_STEP_DB = 0.2  # flow on top of a global fit must add this much to be kept
ANALYSIS_SIDE = 256  # match on images of about this size (fast, and robust to fine texture)
FLOW_SIDE = 128  # dense flow on images of about this size: coarse shapes, not fur or brick texture
GRID = 7  # points per side of the point grid
# A camera move (core/align/camera.py) is judged where the pictures overlap: at least this share of a,
# and this much closer there than unmoved.
CAMERA_MIN_OVERLAP = 0.2
CAMERA_GAIN_DB = 1.0
MIN_SIDE = 32  # px: smaller frames are not aligned (DIS flow needs 12 px at its coarse scale, SIFT more)
MAX_SCALE = 2.0  # a global fit scaling more than this (or less than its inverse) is not believed
MAX_ROTATION = 30.0  # degrees
MAX_FLOW = 0.2  # the dense refinement moves no point further than this (fraction of the image side)
BORDER_SLOPE = 0.5  # a point moves at most this times its distance to the (pinned) frame border
FLOW_FADE = 0.3  # flow moves fade out over this fraction of the side towards the border (noisy there)


def _small(pixels: np.ndarray) -> np.ndarray:
    return resize(pixels, ANALYSIS_SIDE)


def _gray(pixels: np.ndarray) -> np.ndarray:
    """Contrast-equalised grey (CLAHE): features and flow see shapes, not exposure or colour."""
    import cv2

    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    tiles = max(1, min(8, min(gray.shape) // 16))
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(tiles, tiles)).apply(gray)


def _global_transform(gray_a: np.ndarray, gray_b: np.ndarray) -> tuple[np.ndarray | None, int, float]:
    """2x3 similarity mapping a's pixels to b's (None when not believable), inlier count and ratio.

    SIFT on equalised grey, Lowe's ratio test, RANSAC for rotation + uniform scale + shift with an
    inlier threshold of 1.5 % of the image side."""
    import cv2

    sift = cv2.SIFT_create(2000, contrastThreshold=0.02)  # type: ignore[attr-defined]  # missing from cv2's stubs
    kp_a, des_a = sift.detectAndCompute(gray_a, None)
    kp_b, des_b = sift.detectAndCompute(gray_b, None)
    if des_a is None or des_b is None or len(kp_a) < 2 or len(kp_b) < 2:
        return None, 0, 0.0
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_a, des_b, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < 4:
        return None, 0, 0.0
    src = np.array([kp_a[m.queryIdx].pt for m in good], dtype=np.float32)
    dst = np.array([kp_b[m.trainIdx].pt for m in good], dtype=np.float32)
    threshold = 0.015 * max(gray_a.shape)
    cv2.setRNGSeed(0)  # RANSAC is random: the same pair gives the same points every time
    matrix, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=5000, confidence=0.995
    )
    if matrix is None or mask is None:
        return None, 0, 0.0
    inliers = int(mask.sum())
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE and abs(angle) <= MAX_ROTATION):
        return None, inliers, inliers / len(good)
    return matrix, inliers, inliers / len(good)


def _flow(gray_a: np.ndarray, gray_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense flow a -> b (pixels, H x W x 2), smoothed where forward and backward flow agree, and
    the agreement weight (0..1) per pixel."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]  # stub gap
    forward = dis.calc(gray_a, gray_b, None)
    backward = dis.calc(gray_b, gray_a, None)
    height, width = gray_a.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    back_at = cv2.remap(backward, xs + forward[..., 0], ys + forward[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    mismatch = np.hypot(*np.moveaxis(forward + back_at, -1, 0))
    tolerance = 0.05 * max(height, width)
    weight = np.exp(-((mismatch / tolerance) ** 2)).astype(np.float32)
    sigma = max(2.0, max(height, width) / 12)
    spread = cv2.GaussianBlur(weight, (0, 0), sigma) + 1e-6
    smooth = np.stack([cv2.GaussianBlur(forward[..., i] * weight, (0, 0), sigma) for i in (0, 1)], -1)
    smooth /= spread[..., None]  # normalised convolution: trusted flow fills in where the check failed
    return smooth, np.clip(spread, 0.0, 1.0)


def _confidence(gain_db: float, inlier_ratio: float, trusted: float) -> float:
    """0..1: the structural gain (2 dB counts as certain), scaled by how much of the flow passed the
    forward-backward check; a global fit's inlier ratio when that is higher."""
    gain = min(1.0, max(0.0, gain_db / 2.0))
    return max(inlier_ratio, gain * (0.5 + 0.5 * trusted))


def auto_align(pixels_a: np.ndarray, pixels_b: np.ndarray, mode: str = "auto") -> AlignResult:
    """Correspondences between two fitted keyframes (H x W x 3 uint8, same size).

    ``mode``: ``auto`` (faces when both keyframes show one, else features and flow, else the subjects'
    outlines, ``core/align/outline.py``, else no warp),
    ``faces`` or ``features`` (that path only)."""
    if mode not in ALIGN_MODES or mode == "none":
        raise ValueError(f"align mode {mode!r}: expected one of {', '.join(ALIGN_MODES[1:])}")
    if min(pixels_a.shape[:2]) < MIN_SIDE:  # optical flow, SIFT and the face models need more pixels
        return no_warp(f"the frames are too small to line up (under {MIN_SIDE} px)", 0.0)
    if mode in ("auto", "faces"):
        from morphapp.core.align.faces import face_align

        faces = face_align(pixels_a, pixels_b)
        if faces.points or mode == "faces":
            return faces
        features = features_both_ways(pixels_a, pixels_b)
        if features.points:
            return replace(features, detail=f"{features.detail} ({faces.reason})")
        if mode == "auto":  # no shared features: one subject per picture may still pair by its outline
            from morphapp.core.align.outline import outline_align

            outline = outline_align(pixels_a, pixels_b)
            if outline.points:
                return outline
            return replace(features, reason=f"{faces.reason}; features: {features.reason}; {outline.reason}")
        return replace(features, reason=f"{faces.reason}; features: {features.reason}")
    return features_both_ways(pixels_a, pixels_b)


def features_both_ways(pixels_a: np.ndarray, pixels_b: np.ndarray) -> AlignResult:
    """The feature path, with flow alone (no global fit) run from both keyframes and judged from both
    (``core/align/both_ways.py``): a pair gets the same verdict whichever way it is morphed."""
    from morphapp.core.align.both_ways import judge_both_ways, swapped_global

    forward = feature_align(pixels_a, pixels_b)
    if forward.method not in ("flow", "none"):
        return forward  # a global fit: one scene or object
    backward = feature_align(pixels_b, pixels_a)
    if backward.method.startswith("global"):  # found only from b's side (near the matcher's limits)
        from_b = swapped_global(pixels_a, pixels_b, backward, MIN_GAIN_DB)
        if from_b.points:
            return from_b
    if backward.method != "flow" and forward.method != "flow":
        return forward
    return judge_both_ways(pixels_a, pixels_b, forward, backward, FLOW_ONLY_GAIN_DB)


def feature_align(pixels_a: np.ndarray, pixels_b: np.ndarray, *, snap_outlines: bool = True) -> AlignResult:
    """The feature path: a global fit (SIFT + RANSAC) refined by optical flow (see the module text);
    ``snap_outlines=False`` leaves out the silhouette step (to measure what it adds)."""
    import cv2

    small_a, small_b = _small(pixels_a), _small(pixels_b)
    height, width = small_a.shape[:2]
    gray_a, gray_b = _gray(small_a), _gray(small_b)
    judge_a, judge_b = resize(small_a, FLOW_SIDE), resize(small_b, FLOW_SIDE)  # the guard's images
    before = similarity(judge_a, judge_b)
    if before >= ALIGNED_DB:
        return no_warp(f"the keyframes already line up ({before:.0f} dB)", before)
    matrix, inliers, ratio = _global_transform(gray_a, gray_b)
    matched = matrix is not None and inliers >= MIN_INLIERS and ratio >= MIN_INLIER_RATIO
    no_match = f"{inliers} feature matches agree, too few for a global fit"
    if not matched:  # different objects: no global fit, but dense flow may still line shapes up
        matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert matrix is not None
    if matched:  # one scene reframed (zoomed, shifted, turned): the camera moves, the border too
        camera = _camera_candidate(pixels_a, judge_a, judge_b, matrix, width, inliers, ratio, before)
        if camera is not None:
            return camera

    def to_b(xy: np.ndarray) -> np.ndarray:  # continuous coords (pixel centres at i + 0.5), a -> b
        return (xy - 0.5) @ matrix[:, :2].T + matrix[:, 2] + 0.5

    ticks = np.linspace(0.1, 0.9, GRID)
    grid_a = np.array([(x * width, y * height) for y in ticks for x in ticks])
    # The warp pins the image border (warp.py): a move is capped at BORDER_SLOPE times the point's
    # distance to the border, so that a global rotation or zoom cannot fold the frame out there.
    edge = np.minimum(grid_a, [width, height] - grid_a).min(axis=1)

    def tapered(target_b: np.ndarray) -> SegmentPoints:
        move = target_b - grid_a
        length = np.maximum(np.hypot(move[:, 0], move[:, 1]), 1e-9)
        move *= np.minimum(1.0, BORDER_SLOPE * edge / length)[:, None]
        return _as_points(grid_a, grid_a + move, width, height)

    candidates: list[tuple[str, SegmentPoints, float]] = []  # method, points, share of trusted flow
    if matched:
        points = tapered(to_b(grid_a))
        if len(points) < 4:
            return no_warp("the aligned images hardly overlap", before, inliers, ratio)
        candidates.append(("global", points, 1.0))

    # Dense refinement: flow between a and b pulled onto a by the global fit, on coarse images.
    b_on_a = cv2.warpAffine(
        small_b, cv2.invertAffineTransform(matrix), (width, height), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    coarse_a, coarse_b = _gray(judge_a), _gray(resize(b_on_a, FLOW_SIDE))
    flow, weight = _flow(coarse_a, coarse_b)
    fh, fw = coarse_a.shape
    ix = np.clip(np.floor(grid_a[:, 0] * fw / width).astype(int), 0, fw - 1)
    iy = np.clip(np.floor(grid_a[:, 1] * fh / height).astype(int), 0, fh - 1)
    moves = flow[iy, ix] * np.array([width / fw, height / fh])
    limit = MAX_FLOW * max(width, height)
    length = np.maximum(np.hypot(moves[:, 0], moves[:, 1]), 1e-9)
    moves *= np.minimum(1.0, limit / length)[:, None]
    moves *= np.clip(edge / (FLOW_FADE * max(width, height)), 0.0, 1.0)[:, None]
    trusted = float(weight[iy, ix].mean())
    for share in (1.0, 0.5):  # all of the flow, and half of it (a gentler warp when the full one folds)
        refined = tapered(to_b(grid_a + share * moves))
        if len(refined) >= 4:
            candidates.append(("global+flow" if matched else "flow", refined, trusted))

    best: tuple[str, SegmentPoints, float, float] | None = None
    folds = 0
    for method, points, share in candidates:
        if min_jacobian(points) < MIN_JACOBIAN:
            folds += 1
            continue
        score = similarity(judge_a, pull_b(judge_b, points))
        if method != "global" and matched:
            score -= FLOW_STEP_DB  # flow must earn its place over the plain global fit
        if best is None or score > best[3]:
            best = (method, points, share, score)
    need = MIN_GAIN_DB if matched else FLOW_ONLY_GAIN_DB
    if best is None or best[3] < before + need:
        after = before if best is None else best[3]
        reason = (
            f"alignment does not bring the images close enough: a-b similarity {before:.1f} -> "
            f"{after:.1f} dB, needs a gain of {need:.1f} dB"
        )
        if best is None and folds:
            reason = "every warp found would fold the image over itself"
        if not matched:
            reason = f"{no_match}; optical flow: {reason}"
        return no_warp(reason, before, inliers, ratio if matched else 0.0)
    method, points, share, score = best
    after = similarity(judge_a, pull_b(judge_b, points))
    detail = f"{inliers} feature inliers" if matched else "optical flow"
    if matched and snap_outlines:  # one subject in one place: a part that moved far snaps by its outline
        from morphapp.core.align.silhouette import refine_by_silhouette

        snapped = refine_by_silhouette(pixels_a, pixels_b, judge_a, judge_b, points)
        if snapped is not None:
            method, points, after = "global+outline", snapped.points, snapped.after_db
            detail = f"{detail}; {snapped.detail}"
    confidence = _confidence(after - before, ratio if matched else 0.0, share)
    return AlignResult(
        points, method, inliers, float(min(1.0, confidence)), before, after, needed_db=need, detail=detail
    )  # fmt: skip


def _camera_candidate(
    pixels_a: np.ndarray, judge_a: np.ndarray, judge_b: np.ndarray, matrix: np.ndarray, small_width: int,
    inliers: int, ratio: float, before: float,
) -> AlignResult | None:  # fmt: skip
    """The global fit as a camera move (``core/align/camera.py``) when it is too large for a border-pinned
    warp, judged where the two pictures overlap (the ring only one of them shows says nothing of
    the fit; a whole-frame figure turned the right move down)."""
    from morphapp.core.align.camera import MIN_POINTS, Similarity, camera_points

    height, width = pixels_a.shape[:2]
    a = complex(matrix[0, 0], matrix[1, 0])
    half = complex(0.5, 0.5)  # OpenCV's pixel indices -> continuous coordinates (centres at i + 0.5)
    small = Similarity(a, complex(matrix[0, 2], matrix[1, 2]) + half - a * half)
    full = Similarity(a, small.c * (width / small_width))
    if not full.is_large(height, width):
        return None
    points = camera_points(full, height, width)
    if len(points) < MIN_POINTS:
        return None
    jh, jw = judge_a.shape[:2]
    on_judge = Similarity(a, full.c * (jw / width))
    ys, xs = np.mgrid[0:jh, 0:jw].astype(np.float64)
    zb = on_judge((xs + 0.5) + 1j * (ys + 0.5))
    overlap = np.minimum.reduce([zb.real, jw - zb.real, zb.imag, jh - zb.imag]) > 1.0
    if overlap.mean() < CAMERA_MIN_OVERLAP:
        return None
    import cv2

    pulled = cv2.remap(
        judge_b, (zb.real - 0.5).astype(np.float32), (zb.imag - 0.5).astype(np.float32), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    before_here = similarity(judge_a, judge_b, overlap)
    after = similarity(judge_a, pulled, overlap)
    if after < before_here + CAMERA_GAIN_DB:
        return None
    zoom = abs(a)
    confidence = float(min(1.0, max(ratio, (after - before_here) / 6.0)))
    way = "zoom in" if zoom > 1 else "zoom out"
    return AlignResult(
        points, "camera", inliers, confidence, before_here, after, needed_db=CAMERA_GAIN_DB,
        detail=f"{inliers} feature inliers, a {max(zoom, 1 / zoom):.2f}x {way}",
    )  # fmt: skip


def _as_points(grid_a: np.ndarray, grid_b: np.ndarray, width: int, height: int) -> SegmentPoints:
    out: list[PointPair] = []
    for (xa, ya), (xb, yb) in zip(grid_a, grid_b, strict=True):
        na, nb = (xa / width, ya / height), (xb / width, yb / height)
        if all(0.0 <= v <= 1.0 for v in (*na, *nb)):
            out.append((float(na[0]), float(na[1]), float(nb[0]), float(nb[1])))
    return tuple(out)


def align_keyframes(
    keyframes: Sequence[Keyframe],
    settings: MorphSettings,
    note: Callable[[str], None] | None = None,
    mode: str = "auto",
    cancel: CancelToken | None = None,
    semantic: Callable[[np.ndarray, np.ndarray], AlignResult] | None = None,
) -> tuple[SegmentPoints, ...]:
    """``--align auto`` for a whole morph: points per segment (source-image coordinates, as a project
    stores them); a segment whose alignment fails gets none (plain slerp there). ``cancel`` is
    checked between keyframes and segments (one pair takes 0.1-3 s on a 2-core CPU). ``semantic``:
    another path (a diffusion model's features, ``morphapp.diffusion.features``), tried with
    ``auto`` too; the result the guard rates higher is kept."""
    pairs = segment_pairs(len(keyframes), settings.loop)
    fit, background = settings.fit, settings.background
    loaded = []
    for keyframe in keyframes:
        if cancel is not None:
            cancel.raise_if_cancelled()
        loaded.append(load_image(keyframe.path, settings.size, fit, background))
    out: list[SegmentPoints] = []
    for seg, (a, b) in enumerate(pairs):
        if cancel is not None:
            cancel.raise_if_cancelled()
        result = auto_align(loaded[a].pixels, loaded[b].pixels, mode)
        if semantic is not None and mode == "auto":
            other = semantic(loaded[a].pixels, loaded[b].pixels)
            if other.points and (not result.points or other.psnr_after > result.psnr_after):
                result = other
            elif note:
                note(f"segment {seg + 1}: semantic features: {other.describe().removeprefix('auto-align: ')}")
        if note:
            note(f"segment {seg + 1}: {result.in_words()}")
            note(f"segment {seg + 1}: {result.describe()}")
        points = []
        for xa, ya, xb, yb in result.points:
            sa = frame_to_source(xa, ya, loaded[a].source_size, settings.size, fit)
            sb = frame_to_source(xb, yb, loaded[b].source_size, settings.size, fit)
            points.append((*sa, *sb))
        out.append(tuple(points))
    return tuple(out)
