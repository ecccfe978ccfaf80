"""What every auto-align path shares: its result, and the guard that keeps it from doing harm.

The guard judges a warp by what the morph would show near t = 0: keyframe b pulled onto a's
geometry with the points, compared with a by structural similarity (``similarity``: grey,
softened, normalised PSNR in dB, on ``JUDGE_SIDE`` px images). A warp that folds the frame over
itself at any t (``min_jacobian``) is never used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from morphapp.core.align.warp import sample_positions, segment_field, warp_pixels
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.imaging.quality import psnr

ALIGNED_DB = 40.0  # structural similarity above this: nothing to align
JUDGE_SIDE = 128  # the guard compares images of about this size: coarse shapes, not texture
MIN_JACOBIAN = 0.25  # the warp at any t must keep every area element above this: no folds, no collapse


@dataclass(frozen=True)
class AlignResult:
    points: SegmentPoints  # empty: no warp (fallback)
    # "none", "faces", "global", "camera", "global+flow", "global+outline", "flow", "outline"
    method: str
    inliers: int
    confidence: float  # 0..1
    psnr_before: float  # structural similarity of a and b, unwarped (dB, see ``similarity``)
    psnr_after: float  # the same for b pulled onto a with the points; = before on fallback
    reason: str = ""  # why there is no warp
    needed_db: float = 0.0  # the gain over ``psnr_before`` the guard asked of this path
    detail: str = ""  # what the path found (faces: how many, how paired, which points)

    def guard_line(self) -> str:
        figure = f"a-b similarity {self.psnr_before:.1f} -> {self.psnr_after:.1f} dB"
        if self.needed_db == float("-inf"):
            return f"{figure} on the faces (reported only)"
        return f"{figure} (kept when it gains >= {self.needed_db:.1f} dB)"

    def in_words(self) -> str:
        """What the alignment did, for an artist: which path, and why (figures in ``describe``)."""
        if not self.points:
            if "too small to line up" in self.reason:
                return f"{self.reason}: a plain cross-dissolve"
            if "already line up" in self.reason:
                return "the pictures already line up: nothing to move"
            if self.reason.startswith("faces: the landmark warp would fold"):
                return (
                    "both pictures show a face, but lining them up would tear the picture (a face cut by "
                    "the frame edge, or turned far away): a plain cross-dissolve here"
                )
            if "a face in keyframe" in self.reason:
                return (
                    "only one picture shows a face and nothing else could be paired: a plain cross-dissolve "
                    "here (place point pairs with Edit > Correspondence Points or --points to guide it)"
                )
            if "helps one picture but not the other" in self.reason:
                return (
                    "lining the shapes up would help one picture but not the other: a plain cross-dissolve "
                    "here (place a few point pairs with Edit > Correspondence Points or --points to guide it)"
                )
            return (
                "no shared subject found to line up: a plain cross-dissolve here (place a few point pairs "
                "with Edit > Correspondence Points or --points to guide it)"
            )
        return {
            "faces": "faces lined up: eyes, brows, nose, mouth, jaw and head outline travel to their places",
            "global": "the same scene or object, moved or zoomed: lined up by details both pictures share",
            "camera": "one scene framed twice: the camera moves from one framing to the other",
            "global+flow": "the same scene or object: lined up by shared details, then shape by shape",
            "global+outline": (
                "one subject in one place, changing its pose: lined up by shared details, then outline "
                "to outline"
            ),
            "flow": "different subjects of a similar build: their shapes and outlines lined up",
            "outline": (
                "one subject against its background in each picture: the two silhouettes lined up, "
                "outline to outline"
            ),
        }.get(self.method, f"lined up ({self.method})")

    def describe(self) -> str:
        if not self.points:
            return f"auto-align: no warp ({self.reason})"
        found = self.detail or f"{self.inliers} inliers"
        return (
            f"auto-align: {self.method}, {len(self.points)} points, {found}, confidence "
            f"{self.confidence:.2f}; {self.guard_line()}"
        )


def no_warp(
    reason: str, before: float, inliers: int = 0, confidence: float = 0.0, after: float | None = None
) -> AlignResult:
    """No warp (plain slerp), and why; ``after``: the best warp's figure the guard turned down."""
    return AlignResult((), "none", inliers, confidence, before, before if after is None else after, reason)


def resize(pixels: np.ndarray, side: int) -> np.ndarray:
    """Downscaled (never up) so the longer side is at most ``side``."""
    import cv2

    height, width = pixels.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale == 1.0:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def similarity(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR (dB) of the images' structure: grey, softened, each scaled to zero mean and unit spread,
    so two differently coloured but aligned shapes score high and misaligned ones low. ``mask``
    (H x W bool): judge only there (a face: hair and background say nothing about its alignment)."""
    import cv2

    region = np.ones(a.shape[:2], dtype=bool) if mask is None else mask

    def norm(pixels: np.ndarray) -> np.ndarray:
        gray = cv2.GaussianBlur(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float64), (0, 0), 1.5)
        values = gray[region]
        return (values - values.mean()) / max(values.std(), 1e-6) * 48.0 + 128.0

    return psnr(norm(a), norm(b))


def pull_b(pixels_b: np.ndarray, points: SegmentPoints) -> np.ndarray:
    """b resampled onto a's geometry with ``points`` (what the morph shows near t = 0)."""
    height, width = pixels_b.shape[:2]
    field = segment_field(points, 0.0, height, width)
    return warp_pixels(pixels_b, sample_positions(field, 1.0))


def min_jacobian(points: SegmentPoints, side: int = 24) -> float:
    """Smallest area scale of the morph's sampling maps (a at x - tF, b at x + (1-t)F) over t in
    {0, 0.5, 1}: near 1 for a gentle warp, <= 0 where the warp folds over itself."""
    if not points:
        return 1.0
    worst = np.inf
    for t in (0.0, 0.5, 1.0):
        field = segment_field(points, t, side, side).numpy() * side  # in grid cells
        dfx_dy, dfx_dx = np.gradient(field[..., 0])
        dfy_dy, dfy_dx = np.gradient(field[..., 1])
        for scale in (-t, 1.0 - t):
            det = (1 + scale * dfx_dx) * (1 + scale * dfy_dy) - scale * scale * dfx_dy * dfy_dx
            worst = min(worst, float(det.min()))
    return worst


SEMANTIC_GAIN_DB = 0.4  # semantic points (different objects): the flow path's bar, a small but real gain


def judge_points(
    pixels_a: np.ndarray,
    pixels_b: np.ndarray,
    points: SegmentPoints,
    method: str,
    detail: str,
    reason_if_none: str = "",
    need_db: float = SEMANTIC_GAIN_DB,
) -> AlignResult:
    """``points`` found by some path, judged by the guard: kept when b pulled onto a with them is at
    least ``need_db`` closer to a than unwarped b, and the warp never folds; else no warp, and why."""
    judge_a, judge_b = resize(pixels_a, JUDGE_SIDE), resize(pixels_b, JUDGE_SIDE)
    before = similarity(judge_a, judge_b)
    if not points:
        return no_warp(reason_if_none or "no points found", before)
    if min_jacobian(points) < MIN_JACOBIAN:
        return no_warp(f"{method}: its warp would fold the image over itself", before)
    after = similarity(judge_a, pull_b(judge_b, points))
    if after < before + need_db:
        return no_warp(
            f"{method}: a-b similarity {before:.1f} -> {after:.1f} dB, needs a gain of {need_db:.1f} dB",
            before, after=after,
        )  # fmt: skip
    confidence = float(min(1.0, max(0.0, (after - before) / 3.0)))
    return AlignResult(points, method, 0, confidence, before, after, needed_db=need_db, detail=detail)
