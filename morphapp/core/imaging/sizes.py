"""Parse the output size and background colour an artist types (``--size``, ``--background``)."""

from __future__ import annotations

import math
import re

from PIL import ImageColor

from morphapp.errors import InputError

DEFAULT_SIZE: tuple[int, int] = (512, 512)
MAX_SIDE = 8192  # largest output side parse_size accepts
MIN_SIDE = 32  # smallest: below this a morph shows nothing (7x7 rendered an 8x8 GIF, issue 24)
SIZE_STEP = 8  # the VAE works in 8-pixel blocks

_SIZE_RE = re.compile(r"\s*([+-]?\d+)\s*(?:[xX×]\s*([+-]?\d+)\s*)?")
_SIZE_FORM = "expected WIDTHxHEIGHT like 512x512 or 768x432, or one number for a square like 640"


def parse_size(text: str) -> tuple[tuple[int, int], str | None]:
    """Parse ``"512x512"``, ``"768X432"`` or ``"640"`` (square) into ``(w, h)``.

    Each side is rounded to the nearest multiple of 8, halves rounding up;
    the note says so when the size changed, else it is ``None``.
    """
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise InputError(f"size {text!r}: {_SIZE_FORM}")
    width = int(match.group(1))
    height = int(match.group(2)) if match.group(2) is not None else width
    if width <= 0 or height <= 0:
        raise InputError(f"size {text!r}: each side must be at least 1 pixel ({_SIZE_FORM})")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise InputError(
            f"size {text!r}: each side must be at least {MIN_SIDE} pixels (a smaller morph shows nothing)"
        )
    if width > MAX_SIDE or height > MAX_SIDE:
        raise InputError(f"size {text!r}: each side must be at most {MAX_SIDE} pixels")
    return round_size(width, height)


def round_size(width: int, height: int) -> tuple[tuple[int, int], str | None]:
    """Both sides rounded by :func:`round_side`, and the note ``--size`` prints when that changed
    them (``None`` when not). The window's size fields show the same note for what is typed there."""
    rounded = (round_side(width), round_side(height))
    if rounded == (width, height):
        return rounded, None
    note = (
        f"size {width}x{height} rounded to {rounded[0]}x{rounded[1]} "
        f"(the model works in {SIZE_STEP}-pixel blocks)"
    )
    return rounded, note


def round_side(value: float) -> int:
    """A requested side rounded to the model's block size, as ``--size`` does (the window too):
    half up (not Python's banker's rounding), 500 -> 504, 300 -> 304, within MIN_SIDE..MAX_SIDE.
    A float (a scaled side, the export presets) rounds in one step, not via the nearest pixel."""
    blocks = math.floor(value / SIZE_STEP + 0.5)
    return min(MAX_SIDE, max(MIN_SIDE, blocks * SIZE_STEP))


_RGB_TRIPLE_RE = re.compile(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*")
_COLOR_FORM = "expected a name like white or black, #rrggbb, or r,g,b with values 0-255"


def parse_color(text: str) -> tuple[int, int, int]:
    """Parse ``"white"``, ``"black"`` (or another CSS name), ``"#rrggbb"``/``"#rgb"`` or ``"r,g,b"``."""
    triple = _RGB_TRIPLE_RE.fullmatch(text)
    if triple is not None:
        values = tuple(int(v) for v in triple.groups())
        if any(v > 255 for v in values):
            raise InputError(f"colour {text!r}: {_COLOR_FORM}")
        return values[0], values[1], values[2]
    try:
        rgb = ImageColor.getrgb(text.strip().lower())
    except ValueError:
        raise InputError(f"colour {text!r}: {_COLOR_FORM}") from None
    if len(rgb) == 4 and rgb[3] != 255:
        raise InputError(f"colour {text!r}: must be opaque ({_COLOR_FORM})")
    return rgb[0], rgb[1], rgb[2]


def color_name(color: tuple[int, int, int]) -> str:
    names: dict[tuple[int, ...], str] = {(255, 255, 255): "white", (0, 0, 0): "black"}
    return names.get(tuple(color), "#{:02x}{:02x}{:02x}".format(*color))


# --------------------------------------------------------------------------- files
