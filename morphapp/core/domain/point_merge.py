"""Auto-align run again on a segment: the new automatic pairs replace the old automatic ones, and
every pair placed or moved by hand stays.

An automatic pair that lands close to a hand pair (on either keyframe) is dropped: two pairs a few
pixels apart that send one feature to two places fold the warp, and the user's pair is the one
they meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from morphapp.core.domain.point_origins import AUTO, HAND, SegmentOrigins, segment_origins, stored_origins
from morphapp.core.domain.points import PointPair, SegmentPoints

# Normalised distance (a share of the image side) within which an automatic point gives way to a
# hand one: about 5 px on a 256-px keyframe, under the spacing of face-mesh pairs (0.03-0.05).
HAND_CLEARANCE = 0.02


@dataclass(frozen=True)
class Merged:
    points: SegmentPoints
    origins: SegmentOrigins
    kept_hand: int  # hand pairs kept
    dropped_auto: int  # new automatic pairs dropped beside a hand pair


def merge_realigned(
    points: SegmentPoints, origins: SegmentOrigins, found: Sequence[PointPair],
    clearance: float = HAND_CLEARANCE,
) -> Merged:  # fmt: skip
    """One segment after a re-align: its hand pairs (in their order), then the ``found`` automatic
    pairs that keep ``clearance`` from every hand pair on both keyframes."""
    hand = [p for p, origin in zip(points, origins, strict=True) if origin == HAND]
    fresh = [p for p in found if not any(_near(p, h, clearance) for h in hand)]
    origins = (HAND,) * len(hand) + (AUTO,) * len(fresh)
    return Merged(tuple(hand) + tuple(fresh), origins, len(hand), len(found) - len(fresh))


def merge_all(
    points: Sequence[SegmentPoints] | None, origins: Sequence[SegmentOrigins] | None,
    found: Sequence[SegmentPoints],
) -> tuple[tuple[SegmentPoints, ...], tuple[SegmentOrigins, ...] | None]:  # fmt: skip
    """``merge_realigned`` for every segment ``found`` covers: settings' new ``points`` and
    ``point_origins`` (None when every pair is by hand)."""
    old = list(points or ())
    merged = [
        merge_realigned(old[i] if i < len(old) else (), segment_origins(points, origins, i), seg)
        for i, seg in enumerate(found)
    ]
    new_points = tuple(m.points for m in merged)
    return new_points, stored_origins(new_points, [m.origins for m in merged])


def without_auto(points: SegmentPoints, origins: SegmentOrigins) -> SegmentPoints:
    """The segment's hand pairs only ("Remove automatic points")."""
    return tuple(p for p, origin in zip(points, origins, strict=True) if origin == HAND)


def _near(a: PointPair, b: PointPair, clearance: float) -> bool:
    on_a = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    on_b = (a[2] - b[2]) ** 2 + (a[3] - b[3]) ** 2
    return min(on_a, on_b) < clearance**2
