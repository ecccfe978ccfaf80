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
before any pixel is decoded. Pillow has its own, process-global guard
(``PIL.Image.MAX_IMAGE_PIXELS``, by default a warning above ~89 MP and an error above
~179 MP) that ``Image.open`` and the TIFF/GIF decoders consult. So that it does not reject
or warn about images our limit accepts, :func:`_pillow_bomb_limit` raises it to our limit
only while one of our loads runs (never lowers it, reference-counted so concurrent loads
in worker threads do not fight, restored afterwards unless someone else changed it in the
meantime). Anything Pillow still rejects becomes the same ``InputError``.

Never imports Qt or torch: numpy and Pillow only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
import stat
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from morphapp.core.image_color import is_16bit_source, to_rgb
from morphapp.core.image_fit import FIT_MODES, FitMode, check_size, fit_image, fit_notes
from morphapp.core.image_sizes import DEFAULT_SIZE, MAX_SIDE, SIZE_STEP, parse_color, parse_size
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


def _check_file(path: Path, *, allow_empty: bool = False) -> None:
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


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (keyframes can be huge)."""
    path = Path(path)
    _check_file(path, allow_empty=True)
    digest = hashlib.sha256()
    with _open_binary(path) as fp:
        try:
            while chunk := fp.read(_HASH_CHUNK):
                digest.update(chunk)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return digest.hexdigest()


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


# --------------------------------------------------------------------------- bomb limit

_bomb_lock = threading.Lock()
_bomb_users = 0
_bomb_saved: int | None = None
_bomb_set: int | None = None


@contextlib.contextmanager
def _pillow_bomb_limit(limit: int) -> Iterator[None]:
    """Let Pillow's global decompression-bomb guard admit images up to ``limit`` pixels.

    See the module docstring: raised (never lowered) only while our loads run,
    reference-counted across threads, restored afterwards unless changed meanwhile.
    """
    global _bomb_users, _bomb_saved, _bomb_set
    with _bomb_lock:
        if _bomb_users == 0:
            _bomb_saved = Image.MAX_IMAGE_PIXELS
            _bomb_set = _bomb_saved if _bomb_saved is None or _bomb_saved >= limit else limit
            Image.MAX_IMAGE_PIXELS = _bomb_set
        _bomb_users += 1
    try:
        yield
    finally:
        with _bomb_lock:
            _bomb_users -= 1
            if _bomb_users == 0 and _bomb_set == Image.MAX_IMAGE_PIXELS:
                Image.MAX_IMAGE_PIXELS = _bomb_saved


def _limit_text(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g}-megapixel"
    return f"{limit}-pixel"


def _over_limit(path: Path, size_text: str) -> InputError:
    return InputError(
        f"{path}: {size_text} pixels is over the {_limit_text(MAX_IMAGE_PIXELS)} limit; scale it down first"
    )


# --------------------------------------------------------------------------- opening

# Pillow reports damaged EXIF blocks, MPO headers, APNG chunks... as UserWarnings, which Python
# prints as two-line tracebacks on stderr: noise around our one-line errors and notes, for
# problems that we either recover from or report ourselves. Its DecompressionBombWarning is
# noise too: while we load, Pillow's limit is at least ours, so an image it warns about is
# over our limit and refused right after Image.open with our own one-line error.
_QUIET_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (UserWarning, r"PIL\."),
    (Image.DecompressionBombWarning, r"PIL\."),
)


def _silence_pillow_warnings() -> None:
    # Checked on every load, not only at import: warnings.catch_warnings() (pytest, a host
    # application) restores the filter list it found, and a filter added later in front of
    # ours (say "default") would win. So ours are kept first; filterwarnings() moves them there.
    head = warnings.filters[: len(_QUIET_WARNINGS)]
    if len(head) == len(_QUIET_WARNINGS) and all(
        f[0] == "ignore" and f[2] is category and f[3] is not None and f[3].pattern == module
        for f, (category, module) in zip(head, _QUIET_WARNINGS, strict=True)
    ):
        return
    for category, module in reversed(_QUIET_WARNINGS):
        warnings.filterwarnings("ignore", category=category, module=module)


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
    _silence_pillow_warnings()
    notes: list[str] = []
    limit = MAX_IMAGE_PIXELS
    with _open_binary(path) as fp, _pillow_bomb_limit(limit):
        head = fp.read(512)
        fp.seek(0)
        try:
            im = Image.open(fp, formats=list(_OPEN_FORMATS))
        except UnidentifiedImageError:
            raise _unreadable(path, head) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: -W error
            raise _bomb_error(path, exc) from None
        except Exception as exc:  # any parser failure on a foreign file
            # A plugin that accepted the first bytes ("BM...") may still fail on plain text.
            damaged, kind = _describe_unreadable(head)
            if damaged is None and kind is not None:
                raise _unreadable(path, head) from None
            raise _corrupt(path, exc) from None

        width, height = im.size
        if width * height > limit:
            raise _over_limit(path, f"{width}x{height}")
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
    # Pillow refused in Image.open, before we could see the size: report its pixel count.
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return _over_limit(path, f"{int(match.group(1)):,}" if match else "the image's")


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
