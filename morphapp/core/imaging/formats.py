"""What kind of file this is: Pillow's reader for our formats, or a name for what it is instead.

:func:`identify` picks the Pillow plugin for a file among the formats we open. When none takes
it, or the one that does fails, the first bytes tell a damaged supported file (re-export it)
from another kind of file worth naming (a HEIC photo, a PDF, an HTML page saved by mistake...),
so the artist knows what to convert; :func:`unreadable_error` and :func:`corrupt_error` word it.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO

from PIL import Image, ImageFile

from morphapp.errors import InputError

__all__ = ["SUPPORTED_FORMATS", "corrupt_error", "describe_unreadable", "identify", "unreadable_error"]

# Pillow format names we promise to read. GIF (and animated WebP/PNG, multi-page TIFF) are
# also accepted: the first frame is used and a note says so.
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")
_OPEN_FORMATS: tuple[str, ...] = (*SUPPORTED_FORMATS, "GIF")
_FORMATS_TEXT = "PNG, JPEG, WebP, BMP, TIFF"

# Magic numbers: a supported format that Pillow cannot parse is damaged; a few common
# unsupported kinds get named so the artist knows what to convert.
_SUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def identify(fp: IO[bytes]) -> ImageFile.ImageFile | None:
    """``Image.open``'s plugin loop over our formats, minus its decompression-bomb check.

    That check compares the header size with the process-global ``PIL.Image.MAX_IMAGE_PIXELS``
    (a warning above it, an error above twice it), which is below our limit by default. Calling
    the plugin itself leaves that global untouched and raises no warning; the caller checks our
    own limit on the header size right after, before any pixel is decoded.
    """
    Image.init()  # registers every plugin, as Image.open does for WebP and TIFF
    prefix = fp.read(16)
    for fmt in _OPEN_FORMATS:
        if fmt not in Image.OPEN:  # a plugin this Pillow build lacks
            continue
        factory, accept = Image.OPEN[fmt]
        accepted = True if accept is None else accept(prefix)
        if not accepted or isinstance(accepted, str):  # a str: the format's codec is not built in
            continue
        fp.seek(0)
        try:
            return factory(fp, "")
        except (SyntaxError, IndexError, TypeError, struct.error):  # as Image.open: not this format
            continue
    return None


def describe_unreadable(head: bytes) -> tuple[str | None, str | None]:
    """Return (damaged supported format, description of another kind) from the first bytes."""
    for magic, fmt in _SUPPORTED_MAGIC:
        if head.startswith(magic):
            return fmt, None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP", None
    if head[:2] == b"BM" and head[6:10] == b"\0\0\0\0":  # reserved words: not a text starting "BM"
        return "BMP", None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return None, "an AVIF image; convert it to PNG or JPEG"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return None, "a HEIC/HEIF image; convert it to PNG or JPEG"
        return None, "a video or ISO media file"
    if head.startswith(b"%PDF"):
        return None, "a PDF document"
    if head.startswith(b"8BPS"):
        return None, "a Photoshop document; export it as PNG or JPEG"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")):
        return None, "a JPEG XL image; convert it to PNG or JPEG"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text:
        return None, "an HTML page, not an image; save the image itself"
    if b"<svg" in text:
        return None, "an SVG drawing; export it as PNG"
    if text.startswith(b"<"):
        return None, "an XML/text file"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head[:256]):
        return None, "a text file"
    return None, None


def unreadable_error(path: Path, head: bytes) -> InputError:
    """The error for a file no plugin of ours could open, worded from its first bytes."""
    damaged, kind = describe_unreadable(head)
    if damaged is not None:
        return InputError(
            f"{path}: file is truncated or corrupt (its {damaged} header cannot be parsed); "
            "re-export or re-download it"
        )
    if kind is not None:
        return InputError(
            f"{path}: not an image Pillow can read (it looks like {kind}); {_FORMATS_TEXT} are supported"
        )
    return InputError(f"{path}: not an image Pillow can read ({_FORMATS_TEXT} are supported)")


def corrupt_error(path: Path, exc: BaseException) -> InputError:
    """The error for a file whose parser or decoder failed: Pillow's reason, on one line."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return InputError(f"{path}: file is truncated or corrupt ({detail}); re-export or re-download it")
