"""Our decompression-bomb limit: :data:`MAX_IMAGE_PIXELS`, and the errors for images over it.

The limit is checked on the header size before any pixel is decoded. Pillow's own guard
(``PIL.Image.MAX_IMAGE_PIXELS``, process-global, by default a warning above ~89 MP and an error
above ~179 MP) is left as the host set it: the loader opens files without ``Image.open``'s check
of it (see :func:`~morphapp.core.imaging.formats.identify`), so images our limit accepts are
neither refused nor warned about there. What Pillow's decoders still reject becomes an
``InputError`` too (:func:`bomb_error`).

Every check reads :data:`MAX_IMAGE_PIXELS` from this module when it runs, so a test (or a host)
that lowers it here lowers it for the whole loader.
"""

from __future__ import annotations

import re
from pathlib import Path

from morphapp.errors import InputError

__all__ = ["MAX_IMAGE_PIXELS", "bomb_error", "check_pixel_count"]

# 256 megapixels (16000 x 16000). The largest camera sensors give 100-150 MP and
# stitched panoramas rarely exceed 200 MP, so every real photo fits, while the decoded
# image (1 GB as RGBA, plus one conversion copy) stays within what a desktop can hold.
# Outputs are at most 8192 pixels a side, so nothing bigger is ever useful.
MAX_IMAGE_PIXELS: int = 16_000 * 16_000


def check_pixel_count(path: Path, width: int, height: int) -> None:
    """Refuse an image whose header claims more than :data:`MAX_IMAGE_PIXELS` pixels."""
    limit = MAX_IMAGE_PIXELS
    if width * height > limit:
        # Far over the limit the count says more than the sides (both wordings as before).
        size_text = f"{width * height:,}" if width * height > 2 * limit else f"{width}x{height}"
        raise _over_limit(path, size_text)


def bomb_error(path: Path, exc: Exception) -> InputError:
    """The error for Pillow's own bomb error or warning, naming whose limit the image is over."""
    # Pillow's own guard (PIL.Image.MAX_IMAGE_PIXELS, left as the host set it) still runs inside
    # a few decoders (TIFF pages, GIF frames, animated WebP), on sizes our check may not have seen.
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match is None:
        return _over_limit(path, "the image's")
    pixels = int(match.group(1))
    if pixels > MAX_IMAGE_PIXELS:
        return _over_limit(path, f"{pixels:,}")
    return InputError(
        f"{path}: {pixels:,} pixels is over Pillow's decompression-bomb limit "
        "(PIL.Image.MAX_IMAGE_PIXELS); scale it down first"
    )


def _limit_text(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g}-megapixel"
    return f"{limit}-pixel"


def _over_limit(path: Path, size_text: str) -> InputError:
    return InputError(
        f"{path}: {size_text} pixels is over the {_limit_text(MAX_IMAGE_PIXELS)} limit; scale it down first"
    )
