"""Decoding an image file into a normalised RGB Pillow image, with notes on what was done.

:func:`decode_image` checks the file, identifies it, refuses it on its header size when it is over
our pixel limit, decodes it fully (so that a truncated file fails here, not later), applies the
EXIF orientation and converts it to 8-bit sRGB. Animations and multi-page files give their first
frame, with a note. When the output size is known, a JPEG decodes at a reduced scale (still at
least twice the needed resolution). Every failure is a one-line ``InputError``.

Never imports Qt or torch: numpy and Pillow only.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from morphapp.core.imaging.color import is_16bit_source, to_rgb
from morphapp.core.imaging.files import check_file, open_binary
from morphapp.core.imaging.fit import FitMode
from morphapp.core.imaging.formats import corrupt_error, describe_unreadable, identify, unreadable_error
from morphapp.core.imaging.pixel_limit import bomb_error, check_pixel_count
from morphapp.core.imaging.quiet_pillow import quiet_pillow
from morphapp.errors import InputError

__all__ = ["decode_image", "open_image"]

# JPEG draft (DCT-domain) decoding keeps at least this factor above the needed size, so
# the final Lanczos pass still has real detail to work with.
_DRAFT_MARGIN = 2.0


def open_image(
    path: Path | str, *, background: tuple[int, int, int] = (255, 255, 255)
) -> tuple[Image.Image, list[str]]:
    """Open ``path`` as a fully decoded RGB image, EXIF-transposed, in sRGB; no resizing.

    Transparency is composited on ``background``. Returns the image and notes on the
    conversions applied.
    """
    image, notes, _ = decode_image(Path(path), background, None)
    return image, notes


def decode_image(
    path: Path,
    background: tuple[int, int, int],
    fit_target: tuple[tuple[int, int], FitMode] | None,
) -> tuple[Image.Image, list[str], tuple[int, int]]:
    """Open, decode and normalise ``path``; return (RGB image, notes, source size).

    ``fit_target`` lets JPEGs decode at a reduced scale (still at least twice the needed
    resolution) when the final size is known.
    """
    check_file(path)
    notes: list[str] = []
    with open_binary(path) as fp, quiet_pillow():
        head = fp.read(512)
        fp.seek(0)
        try:
            opened = identify(fp)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: -W error
            raise bomb_error(path, exc) from None
        except Exception as exc:  # any parser failure on a foreign file
            # A plugin that accepted the first bytes ("BM...") may still fail on plain text.
            damaged, kind = describe_unreadable(head)
            if damaged is None and kind is not None:
                raise unreadable_error(path, head) from None
            raise corrupt_error(path, exc) from None
        if opened is None:
            raise unreadable_error(path, head)
        im = opened

        width, height = im.size  # from the header: nothing is decoded yet
        check_pixel_count(path, width, height)
        fmt = im.format or "image"
        try:
            notes.extend(_frame_notes(im))
            bits16 = is_16bit_source(im)  # before anything decodes: it reads the tile list
            if fit_target is not None and im.format in ("JPEG", "MPO"):
                _draft(im, fit_target, _jpeg_orientation(im))
            im.load()  # decode fully now, so truncated files fail here and not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: -W error
            raise bomb_error(path, exc) from None
        except MemoryError:
            raise InputError(
                f"{path}: not enough memory to decode {width}x{height} pixels; scale it down first"
            ) from None
        except Exception as exc:  # decoder errors come as OSError, SyntaxError, ValueError...
            raise corrupt_error(path, exc) from None

        if bits16:
            notes.append(f"16-bit {fmt} converted to 8-bit")
        icc = im.info.get("icc_profile")
        before = im.size
        try:
            ImageOps.exif_transpose(im, in_place=True)
        except Exception:  # malformed EXIF must not make a good image unusable
            notes.append("EXIF data is unreadable; orientation not applied")
        swapped = im.size != before
        source_size = (height, width) if swapped else (width, height)
        rgb = to_rgb(im, background, notes, label=str(path), icc=icc, fmt=fmt)
    return rgb, notes, source_size


def _frame_notes(im: Image.Image) -> list[str]:
    frames = getattr(im, "n_frames", 1)
    if frames <= 1:
        return []
    im.seek(0)  # n_frames may have walked through the file
    kind = {
        "GIF": "animated GIF",
        "WEBP": "animated WebP",
        "PNG": "animated PNG",
        "TIFF": "multi-page TIFF",
        "MPO": "multi-picture JPEG",
    }.get(im.format or "", f"multi-frame {im.format}")
    unit = "pages" if im.format == "TIFF" else "frames"
    return [f"{kind}: using the first of {frames} {unit}"]


def _jpeg_orientation(im: Image.Image) -> int:
    # Only for JPEG: its EXIF is parsed at open. (PNG's getexif() would decode the image.)
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # unreadable EXIF is reported by exif_transpose later
        return 1


def _draft(im: Image.Image, fit_target: tuple[tuple[int, int], FitMode], orientation: int) -> None:
    """Decode a JPEG at 1/2, 1/4 or 1/8 scale when the output is that much smaller."""
    (target_w, target_h), fit = fit_target
    if orientation in (5, 6, 7, 8):  # the target, as the file stores the image
        target_w, target_h = target_h, target_w
    width, height = im.size
    scale_x, scale_y = target_w / width, target_h / height
    if fit == "crop":
        scale_x = scale_y = max(scale_x, scale_y)
    elif fit == "pad":
        scale_x = scale_y = min(scale_x, scale_y)
    need = (
        max(1, math.ceil(width * scale_x * _DRAFT_MARGIN)),
        max(1, math.ceil(height * scale_y * _DRAFT_MARGIN)),
    )
    if need[0] < width and need[1] < height:
        im.draft(None, need)
