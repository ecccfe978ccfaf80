"""Where each point pair came from: found by auto-align ("auto") or placed by the user ("hand").

Origins sit beside the coordinates (``MorphSettings.point_origins``), never inside them: the
renderer reads only ``settings.points``, so a morph renders the same whatever its origins say.
They exist for editing: the point editor draws the two kinds differently, and auto-align run again
replaces only the automatic pairs (``point_merge.py``).

What nothing records is "hand": a points file the user gives (``--points``), a project saved
before origins existed, a settings object with no ``point_origins``. Keeping unknown points on a
re-align loses no work; "Clear" or "Remove automatic points" starts afresh.

In a project file, ``settings.point_origins`` is one list per segment, parallel to
``settings.points``: ``[["auto", "auto", "hand"], []]``. It is written only when some pair is
automatic, so projects of hand-placed points read exactly as before, and older morphapp versions,
which ignore keys they do not know, still open the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from morphapp.core.domain.points import SegmentPoints
from morphapp.errors import InputError

PointOrigin = Literal["auto", "hand"]
SegmentOrigins = tuple[PointOrigin, ...]
AUTO: PointOrigin = "auto"
HAND: PointOrigin = "hand"
ORIGINS: tuple[PointOrigin, ...] = (AUTO, HAND)


def segment_origins(
    points: Sequence[SegmentPoints] | None, origins: Sequence[SegmentOrigins] | None, index: int
) -> SegmentOrigins:
    """The origins of segment ``index``'s pairs, one per pair; "hand" where none are recorded (or
    the record does not fit the pairs: it was not made for them)."""
    pairs = points[index] if points is not None and 0 <= index < len(points) else ()
    if origins is not None and 0 <= index < len(origins) and len(origins[index]) == len(pairs):
        return tuple(origins[index])
    return (HAND,) * len(pairs)


def all_origins(
    points: Sequence[SegmentPoints] | None, origins: Sequence[SegmentOrigins] | None
) -> tuple[SegmentOrigins, ...]:
    """``segment_origins`` for every segment of ``points``."""
    return tuple(segment_origins(points, origins, i) for i in range(len(points or ())))


def stored_origins(
    points: Sequence[SegmentPoints] | None, origins: Sequence[SegmentOrigins] | None
) -> tuple[SegmentOrigins, ...] | None:
    """What settings keep: the origins fitted to ``points``, or None when every pair is by hand
    (the same settings as a morph made before origins existed)."""
    fitted = all_origins(points, origins)
    return fitted if any(AUTO in seg for seg in fitted) else None


def origins_to_json(
    points: Sequence[SegmentPoints] | None, origins: Sequence[SegmentOrigins] | None
) -> list[list[str]] | None:
    """The project file's ``point_origins``, or None to leave the key out (every pair by hand)."""
    fitted = stored_origins(points, origins)
    return None if fitted is None else [list(seg) for seg in fitted]


def parse_point_origins(
    data: Any, points: Sequence[SegmentPoints] | None, where: str
) -> tuple[SegmentOrigins, ...]:
    """Validate a ``point_origins`` document against the pairs it describes (one list per segment
    of ``points``, one "auto" or "hand" per pair); ``where`` names the file and field in errors."""
    if points is None:
        raise InputError(f"{where}: origins given without points (settings.points is missing)")
    if not isinstance(data, list) or not all(isinstance(seg, list) for seg in data):
        raise InputError(f'{where}: expected one list of "auto" / "hand" per segment: [["auto", "hand"]]')
    if len(data) != len(points):
        raise InputError(
            f"{where}: {len(data)} list(s) of origins for {len(points)} list(s) of points; one per segment"
        )
    out: list[SegmentOrigins] = []
    for s, (seg, pairs) in enumerate(zip(data, points, strict=True)):
        at = f"{where}: segment {s + 1}" if len(points) > 1 else where
        if len(seg) != len(pairs):
            raise InputError(f"{at}: {len(seg)} origins for {len(pairs)} point pairs; give one per pair")
        for i, value in enumerate(seg):
            if value not in ORIGINS:
                raise InputError(f'{at}: point {i + 1} has origin {value!r}; expected "auto" or "hand"')
        out.append(tuple(seg))
    return tuple(out)
