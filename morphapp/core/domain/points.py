"""Correspondences: point pairs that say where a feature of one keyframe lies in the next.

A segment's points are a list of ``(xa, ya, xb, yb)``: normalised coordinates (0..1, origin top
left) of one feature in keyframe ``a`` and in keyframe ``b``, measured on the *source image* as
the user sees it (before the crop/pad fit to the render size), so a point file stays valid when
the size or fit changes. A points file is JSON: ``[[xa, ya, xb, yb], ...]`` for one segment, or
one such list per segment (``[[[...], ...], [[...], ...]]``) for three or more keyframes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from morphapp.core.domain.json_file import read_json_file
from morphapp.errors import InputError

PointPair = tuple[float, float, float, float]
SegmentPoints = tuple[PointPair, ...]
MAX_POINTS = 1000  # per segment; a hand-placed set is 5-50, an auto-align grid a few hundred
MAX_POINTS_BYTES = 5_000_000


def parse_points(data: Any, where: str, n_segments: int | None = None) -> tuple[SegmentPoints, ...]:
    """Validate a points document; returns one tuple of pairs per segment.

    ``where`` names the source (a file name) in every error. With ``n_segments`` given, the
    number of segment lists must match it (a flat list of pairs is one segment).
    """
    if not isinstance(data, list):
        raise InputError(
            f"{where}: expected a list of [xa, ya, xb, yb] point pairs, or one such list per segment"
        )
    if data and isinstance(data[0], list) and data[0] and isinstance(data[0][0], list):
        segments = [_segment(seg, f"{where}: segment {i + 1}") for i, seg in enumerate(data)]
    elif not data:
        segments = [()]
    else:
        segments = [_segment(data, where)]
    if n_segments is not None and len(segments) != n_segments:
        raise InputError(
            f"{where}: {len(segments)} list(s) of points for {n_segments} segment(s); "
            "give one list of [xa, ya, xb, yb] per segment"
        )
    return tuple(segments)


def _segment(data: Any, where: str) -> SegmentPoints:
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a list of [xa, ya, xb, yb] point pairs")
    if len(data) > MAX_POINTS:
        raise InputError(f"{where}: {len(data)} point pairs, at most {MAX_POINTS} allowed")
    out: list[PointPair] = []
    for i, item in enumerate(data):
        if not isinstance(item, list) or len(item) != 4:
            raise InputError(f"{where}: point {i + 1} must be [xa, ya, xb, yb] (four numbers), got {item!r}")
        values: list[float] = []
        for v in item:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise InputError(f"{where}: point {i + 1} has {v!r}; coordinates must be finite numbers")
            if not 0.0 <= float(v) <= 1.0:
                raise InputError(
                    f"{where}: point {i + 1} has {v!r}; coordinates are normalised, between 0 and 1"
                )
            values.append(float(v))
        out.append((values[0], values[1], values[2], values[3]))
    return tuple(out)


def load_points(path: Path | str, n_segments: int | None = None) -> tuple[SegmentPoints, ...]:
    """Read and validate a points file (InputError naming the file and the problem)."""
    path = Path(path)
    data = read_json_file(path, "points file", MAX_POINTS_BYTES, missing="points file")
    return parse_points(data, str(path), n_segments)


def points_to_json(points: Sequence[SegmentPoints]) -> list[list[list[float]]]:
    return [[list(p) for p in seg] for seg in points]


def source_to_frame(
    x: float, y: float, source_size: tuple[int, int], size: tuple[int, int], fit: str
) -> tuple[float, float]:
    """Map a normalised point of the source image to normalised coordinates of the fitted frame."""
    src_w, src_h = source_size
    width, height = size
    if fit == "stretch" or src_w <= 0 or src_h <= 0:
        return x, y
    if fit == "crop":
        target = width / height
        if src_w / src_h > target:
            crop_w = src_h * target / src_w  # the kept fraction of the width
            return (x - (1 - crop_w) / 2) / crop_w, y
        crop_h = src_w / target / src_h
        return x, (y - (1 - crop_h) / 2) / crop_h
    # pad: the image fills a centred inner box
    scale = min(width / src_w, height / src_h)
    inner_w, inner_h = src_w * scale / width, src_h * scale / height
    return (1 - inner_w) / 2 + x * inner_w, (1 - inner_h) / 2 + y * inner_h


def frame_to_source(
    x: float, y: float, source_size: tuple[int, int], size: tuple[int, int], fit: str
) -> tuple[float, float]:
    """The inverse of ``source_to_frame`` (both are per-axis affine maps), clamped to 0..1."""
    x0, y0 = source_to_frame(0.0, 0.0, source_size, size, fit)
    x1, y1 = source_to_frame(1.0, 1.0, source_size, size, fit)
    sx = (x - x0) / (x1 - x0) if x1 != x0 else x
    sy = (y - y0) / (y1 - y0) if y1 != y0 else y
    return min(1.0, max(0.0, sx)), min(1.0, max(0.0, sy))
