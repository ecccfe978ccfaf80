"""Keyframe images: open any supported file robustly, fit it to the output size.

Everything the engine feeds to a model goes through :func:`load_image`, which returns an
``H x W x 3`` uint8 RGB array of exactly the requested size plus human-readable notes on
what was done to get there (first frame of an animation, 16-bit reduced to 8-bit, alpha
composited, colour profile converted...). Every problem with the file itself is an
:class:`~morphapp.errors.InputError` whose one-line message names the file, the problem and
what to do.

Colour conversions live in :mod:`image_color`, fitting in :mod:`image_fit`, and size and colour
parsing in :mod:`image_sizes`; their public names are re-exported here.

Decompression bombs: our limit is :data:`MAX_IMAGE_PIXELS`, checked on the header size
before any pixel is decoded. Pillow's own guard (``PIL.Image.MAX_IMAGE_PIXELS``, process-global,
by default a warning above ~89 MP and an error above ~179 MP) is left as the host set it:
:func:`_identify` opens files without ``Image.open``'s check of it, so images our limit accepts
are neither refused nor warned about there. What Pillow's decoders still reject becomes an
``InputError`` too.

Never imports Qt or torch: numpy and Pillow only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import stat
import struct
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps

from morphapp.core.imaging.color import is_16bit_source, to_rgb
from morphapp.core.imaging.fit import FIT_MODES, FitMode, check_size, fit_image, fit_notes
from morphapp.core.imaging.sizes import DEFAULT_SIZE, MAX_SIDE, SIZE_STEP, parse_color, parse_size
from morphapp.errors import InputError

__all__ = [
    "DEFAULT_SIZE", "FIT_MODES", "MAX_IMAGE_PIXELS", "MAX_SIDE", "SIZE_STEP", "SUPPORTED_FORMATS",
    "FitMode", "LoadedImage", "file_sha256", "fit_image", "load_image", "open_image", "parse_color",
    "parse_size",
]  # fmt: skip


# Pillow format names we promise to read. GIF (and animated WebP/PNG, multi-page TIFF) are
# also accepted: the first frame is used and a note says so.
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")
_OPEN_FORMATS: tuple[str, ...] = (*SUPPORTED_FORMATS, "GIF")
_FORMATS_TEXT = "PNG, JPEG, WebP, BMP, TIFF"

# 256 megapixels (16000 x 16000). The largest camera sensors give 100-150 MP and
# stitched panoramas rarely exceed 200 MP, so every real photo fits, while the decoded
# image (1 GB as RGBA, plus one conversion copy) stays within what a desktop can hold.
# Outputs are at most 8192 pixels a side, so nothing bigger is ever useful.
MAX_IMAGE_PIXELS: int = 16_000 * 16_000

# JPEG draft (DCT-domain) decoding keeps at least this factor above the needed size, so
# the final Lanczos pass still has real detail to work with.
_DRAFT_MARGIN = 2.0
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare .pixels explicitly
class LoadedImage:
    """A keyframe ready for the model."""

    pixels: np.ndarray  # H x W x 3 uint8, C-contiguous, exactly the requested size
    source_size: tuple[int, int]  # (w, h) of the file after EXIF orientation
    notes: tuple[str, ...]  # human-readable notes on conversions applied


# --------------------------------------------------------------------------- parsing


def _check_file(path: Path, *, allow_empty: bool = False) -> os.stat_result:
    """Fail with a clear message when ``path`` is not a readable, non-empty regular file."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: file not found") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied); check its permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # a NUL character (from a project file): no OS accepts such a name
        raise InputError(f"{path!r}: not a valid file name") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; only plain files are images.
        raise InputError(f"{path}: is not a regular file")
    if info.st_size == 0 and not allow_empty:
        raise InputError(f"{path}: file is empty (0 bytes)")
    return info


def _open_binary(path: Path) -> io.BufferedReader:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied); check its permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


# Hashes already computed, so that a preview does not re-read every keyframe: path -> (the file's
# device, inode, size, mtime and ctime when hashed; its hash). Any write changes size, mtime or
# ctime, and a replaced file has a new inode. A file changed less than _RACY_NS before it was
# hashed is not kept: a second write within the file system's timestamp granularity (2 s on FAT,
# a few ms on ext4) could leave every field as it was (git's "racy" entries).
_FileStamp = tuple[int, int, int, int, int]
_hashes: OrderedDict[str, tuple[_FileStamp, str]] = OrderedDict()
_hashes_lock = threading.Lock()
_HASHES_KEPT = 4096
_RACY_NS = 3_000_000_000


def _stamp(info: os.stat_result) -> _FileStamp:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (keyframes can be huge).

    Memoised per process while the file is unchanged (see ``_hashes``); thread-safe.
    """
    path = Path(path)
    started_ns = time.time_ns()
    stamp = _stamp(_check_file(path, allow_empty=True))
    key = os.path.abspath(path)
    with _hashes_lock:
        kept = _hashes.get(key)
        if kept is not None and kept[0] == stamp:
            _hashes.move_to_end(key)
            return kept[1]
    digest, read_stamp = _read_sha256(path)
    # Kept only if what was read is the file stat()ed, unchanged, and not freshly written.
    if read_stamp == stamp and stamp[3] < started_ns - _RACY_NS:
        with _hashes_lock:
            _hashes[key] = (stamp, digest)
            _hashes.move_to_end(key)
            while len(_hashes) > _HASHES_KEPT:
                _hashes.popitem(last=False)
    return digest


def _read_sha256(path: Path) -> tuple[str, _FileStamp]:
    """The hash, and the stamp of the open file after reading it."""
    digest = hashlib.sha256()
    with _open_binary(path) as fp:
        try:
            while chunk := fp.read(_HASH_CHUNK):
                digest.update(chunk)
            return digest.hexdigest(), _stamp(os.fstat(fp.fileno()))
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


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


def _describe_unreadable(head: bytes) -> tuple[str | None, str | None]:
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


# --------------------------------------------------------------------------- opening


def _limit_text(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g}-megapixel"
    return f"{limit}-pixel"


def _over_limit(path: Path, size_text: str) -> InputError:
    return InputError(
        f"{path}: {size_text} pixels is over the {_limit_text(MAX_IMAGE_PIXELS)} limit; scale it down first"
    )


# Pillow reports damaged metadata (EXIF or TIFF tags pointing past the end, a malformed MPO or
# APNG header) and, inside its TIFF/GIF decoders, sizes over its own bomb limit as warnings, which
# Python prints as two-line tracebacks: noise around the one-line errors and notes we give for the
# same files. These must still be caught, as no check of ours can foresee every damaged tag. But
# Python (before 3.14's context-aware warnings) has no per-thread way to do it: catch_warnings()
# swaps the whole process-wide list, so two threads interleaving it lose or leak filters. Instead,
# while at least one load runs, these two entries sit at the front of warnings.filters (counted
# across threads, removed by identity by the last load to end): no other entry is touched, only
# Pillow's own modules are matched, and the list is exactly as before once no load runs.
_QUIET_FILTERS: tuple[tuple[str, None, type[Warning], re.Pattern[str], int], ...] = (
    ("ignore", None, UserWarning, re.compile(r"PIL\."), 0),
    ("ignore", None, Image.DecompressionBombWarning, re.compile(r"PIL\."), 0),
)
_quiet_lock = threading.Lock()
_quiet_loads = 0


@contextlib.contextmanager
def _quiet_pillow() -> Iterator[None]:
    global _quiet_loads
    with _quiet_lock:
        if _quiet_loads == 0:
            cast("list[object]", warnings.filters)[:0] = _QUIET_FILTERS  # one atomic list operation
        _quiet_loads += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_loads -= 1
            if _quiet_loads == 0:
                for entry in _QUIET_FILTERS:  # list.remove: atomic; the first equal entry, ours
                    with contextlib.suppress(ValueError):  # unless someone cleared the list
                        cast("list[object]", warnings.filters).remove(entry)


def _identify(fp: IO[bytes]) -> ImageFile.ImageFile | None:
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


def open_image(
    path: Path | str, *, background: tuple[int, int, int] = (255, 255, 255)
) -> tuple[Image.Image, list[str]]:
    """Open ``path`` as a fully decoded RGB image, EXIF-transposed, in sRGB; no resizing.

    Transparency is composited on ``background``. Returns the image and notes on the
    conversions applied.
    """
    image, notes, _ = _open(Path(path), background, None)
    return image, notes


def _open(
    path: Path,
    background: tuple[int, int, int],
    fit_target: tuple[tuple[int, int], FitMode] | None,
) -> tuple[Image.Image, list[str], tuple[int, int]]:
    """Open, decode and normalise ``path``; return (RGB image, notes, source size).

    ``fit_target`` lets JPEGs decode at a reduced scale (still at least twice the needed
    resolution) when the final size is known.
    """
    _check_file(path)
    notes: list[str] = []
    limit = MAX_IMAGE_PIXELS
    with _open_binary(path) as fp, _quiet_pillow():
        head = fp.read(512)
        fp.seek(0)
        try:
            opened = _identify(fp)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: -W error
            raise _bomb_error(path, exc) from None
        except Exception as exc:  # any parser failure on a foreign file
            # A plugin that accepted the first bytes ("BM...") may still fail on plain text.
            damaged, kind = _describe_unreadable(head)
            if damaged is None and kind is not None:
                raise _unreadable(path, head) from None
            raise _corrupt(path, exc) from None
        if opened is None:
            raise _unreadable(path, head)
        im = opened

        width, height = im.size  # from the header: nothing is decoded yet
        if width * height > limit:
            # Far over the limit the count says more than the sides (both wordings as before).
            size_text = f"{width * height:,}" if width * height > 2 * limit else f"{width}x{height}"
            raise _over_limit(path, size_text)
        fmt = im.format or "image"
        try:
            notes.extend(_frame_notes(im))
            bits16 = is_16bit_source(im)  # before anything decodes: it reads the tile list
            if fit_target is not None and im.format in ("JPEG", "MPO"):
                _draft(im, fit_target, _jpeg_orientation(im))
            im.load()  # decode fully now, so truncated files fail here and not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: -W error
            raise _bomb_error(path, exc) from None
        except MemoryError:
            raise InputError(
                f"{path}: not enough memory to decode {width}x{height} pixels; scale it down first"
            ) from None
        except Exception as exc:  # decoder errors come as OSError, SyntaxError, ValueError...
            raise _corrupt(path, exc) from None

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


def _unreadable(path: Path, head: bytes) -> InputError:
    damaged, kind = _describe_unreadable(head)
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


def _corrupt(path: Path, exc: BaseException) -> InputError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return InputError(f"{path}: file is truncated or corrupt ({detail}); re-export or re-download it")


def _bomb_error(path: Path, exc: Exception) -> InputError:
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
    image, notes, source_size = _open(Path(path), background, ((width, height), fit))
    notes.extend(fit_notes(image.size, (width, height), fit))
    fitted = fit_image(image, (width, height), fit, background)
    pixels = np.array(fitted, dtype=np.uint8, order="C")  # a writable copy, detached from Pillow
    if pixels.shape != (height, width, 3):  # pragma: no cover - guards the contract
        raise AssertionError(f"fit produced {pixels.shape}, expected {(height, width, 3)}")
    return LoadedImage(pixels=pixels, source_size=source_size, notes=tuple(notes))
