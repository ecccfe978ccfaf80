"""Timing a morph to music: the segments that the music's beats and loudness ask for.

Shared by the CLI (``--audio``, ``--audio-reactive``) and the window (Snap Keyframes to Beats,
Music-Reactive Spacing), so both make the same project from the same track.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from morphapp.core.timeline.easing import points_ease
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.music.beats import reactive_positions


def reactive_segments(
    specs: Sequence[SegmentSpec], times: np.ndarray, onsets: np.ndarray, start: float, fps: float
) -> tuple[tuple[SegmentSpec, ...], float]:
    """``specs`` with each segment's easing replaced by a ``points(…)`` spacing whose frame steps
    follow the onset strength: faster on loud passages; the frame counts (and so the keyframes'
    frames) unchanged. Also the largest frame step over the smallest, for a note."""
    positions = reactive_positions(times, onsets, start, fps, tuple(spec.steps for spec in specs))
    segments = tuple(
        SegmentSpec(spec.steps, points_ease(p)) for spec, p in zip(specs, positions, strict=True)
    )
    steps = [b - a for values in positions for a, b in itertools.pairwise(values)]
    return segments, max(steps) / max(min(steps), 1e-9)
