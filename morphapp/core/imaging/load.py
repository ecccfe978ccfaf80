"""Keyframe images: open any supported file robustly, fit it to the output size.

Everything the engine feeds to a model goes through :func:`load_image`, which returns an
``H x W x 3`` uint8 RGB array of exactly the requested size plus human-readable notes on
what was done to get there (first frame of an animation, 16-bit reduced to 8-bit, alpha
composited, colour profile converted...). Every problem with the file itself is an
:class:`~morphapp.errors.InputError` whose one-line message names the file, the problem and
what to do.

The work is done by one module per step, in this package: :mod:`.files` (is it a readable
file), :mod:`.formats` (which reader, or what it is instead), :mod:`.pixel_limit` (our
decompression-bomb limit), :mod:`.quiet_pillow` (Pillow's warnings kept off stderr),
:mod:`.decode` (decoding to sRGB: :func:`~.decode.open_image`, no resizing), :mod:`.color`
(mode conversions), :mod:`.fit` (fitting) and :mod:`.sizes` (size and colour parsing, whose
public names, and fitting's, are re-exported here). Hashing a keyframe file is
:func:`.file_hash.file_sha256`.

Never imports Qt or torch: numpy and Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from morphapp.core.imaging.decode import decode_image
from morphapp.core.imaging.fit import FIT_MODES, FitMode, check_size, fit_image, fit_notes
from morphapp.core.imaging.sizes import DEFAULT_SIZE, MAX_SIDE, SIZE_STEP, parse_color, parse_size

__all__ = [
    "DEFAULT_SIZE", "FIT_MODES", "MAX_SIDE", "SIZE_STEP", "FitMode", "LoadedImage", "fit_image", "load_image",
    "parse_color", "parse_size",
]  # fmt: skip


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare .pixels explicitly
class LoadedImage:
    """A keyframe ready for the model."""

    pixels: np.ndarray  # H x W x 3 uint8, C-contiguous, exactly the requested size
    source_size: tuple[int, int]  # (w, h) of the file after EXIF orientation
    notes: tuple[str, ...]  # human-readable notes on conversions applied


def load_image(
    path: Path | str,
    size: tuple[int, int] = DEFAULT_SIZE,
    fit: FitMode = "crop",
    background: tuple[int, int, int] = (255, 255, 255),
) -> LoadedImage:
    """Load a keyframe as an ``H x W x 3`` uint8 RGB array of exactly ``size`` (w, h)."""
    width, height = check_size(size)
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, got {fit!r}")
    image, notes, source_size = decode_image(Path(path), background, ((width, height), fit))
    notes.extend(fit_notes(image.size, (width, height), fit))
    fitted = fit_image(image, (width, height), fit, background)
    pixels = np.array(fitted, dtype=np.uint8, order="C")  # a writable copy, detached from Pillow
    if pixels.shape != (height, width, 3):  # pragma: no cover - guards the contract
        raise AssertionError(f"fit produced {pixels.shape}, expected {(height, width, 3)}")
    return LoadedImage(pixels=pixels, source_size=source_size, notes=tuple(notes))
