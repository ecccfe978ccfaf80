"""Frame timing: exact frame rates and GIF frame delays."""

from __future__ import annotations

import math
from fractions import Fraction

# Denominators up to 1001 cover every broadcast/film rate (24000/1001, 30000/1001, ...), and
# make a float like 29.97 or 23.976 come back as the small fraction it was meant to be.
_MAX_DENOMINATOR = 1001


def fps_fraction(fps: float | Fraction) -> Fraction:
    """``fps`` as an exact fraction, e.g. 29.97 -> 2997/100, 30000/1001 (as float) -> 30000/1001."""
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(_MAX_DENOMINATOR)


def valid_fps(fps: object) -> bool:
    try:
        value = float(fps)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and 0 < value <= 1000


def gif_delay_cs(index: int, fps: Fraction) -> int:
    """Delay of frame ``index`` in GIF units (1/100 s).

    GIF delays are whole centiseconds, so 24 fps (41.67 ms) cannot be stored exactly. Each
    frame ends at the rounded ideal end time of that frame, so the rounding error never
    accumulates: 24 fps gives 40, 40, 50, 40, 40, 50 ms... and N frames last N/fps seconds
    within 5 ms. Above 100 fps a frame gets at least 1 cs (0 means "as fast as possible" to
    viewers); note that browsers slow delays under 2 cs down to 10 cs, so GIFs above 50 fps
    play slower than intended in browsers.
    """
    start = _round_half_up(index * 100 / fps)
    end = _round_half_up((index + 1) * 100 / fps)
    return max(1, end - start)


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))
