"""Explicit conversion of every Pillow mode to 8-bit sRGB.

Mode by mode instead of a blind ``.convert("RGB")``, because Pillow's generic conversions clip
16-bit and float data, drop transparency onto black and ignore embedded colour profiles.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageCms, ImageFile

from morphapp.core.imaging.sizes import color_name
from morphapp.errors import InputError


def is_16bit_source(im: ImageFile.ImageFile) -> bool:
    """Whether the decoder reads 16-bit samples (Pillow keeps the high byte of RGB ones).

    ``im`` is an opened, not yet loaded file: the tile list is what its decoder will read.
    """
    for tile in im.tile:
        args = tile.args
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return im.mode.startswith("I;16")


# --------------------------------------------------------------------------- conversion


def to_rgb(
    im: Image.Image,
    background: tuple[int, int, int],
    notes: list[str],
    *,
    label: str,
    icc: bytes | None,
    fmt: str,
) -> Image.Image:
    """Convert any Pillow mode to 8-bit sRGB "RGB", appending notes on lossy steps."""
    im = _to_8bit_native(im, notes, label=label, fmt=fmt)
    if icc:
        im = _apply_icc(im, icc, notes)
    if im.mode == "L":
        return im.convert("RGB")
    if im.mode == "RGB":
        return im
    if im.mode == "CMYK":
        # Still CMYK: no usable profile, so Pillow's naive formula it is.
        notes.append("CMYK image converted to RGB without a colour profile (colours may be approximate)")
        return im.convert("RGB")
    # LA or RGBA: composite on the background, straight (non-premultiplied) alpha.
    rgba = im.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return rgba.convert("RGB")
    canvas = Image.new("RGB", rgba.size, tuple(background))
    canvas.paste(rgba.convert("RGB"), mask=alpha)
    notes.append(f"alpha composited on {color_name(background)}")
    return canvas


def _to_8bit_native(im: Image.Image, notes: list[str], *, label: str, fmt: str) -> Image.Image:
    """Bring ``im`` to one of L, LA, RGB, RGBA, CMYK (its own colour space, 8 bits)."""
    mode = im.mode
    transparency = im.info.get("transparency")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        if transparency is not None and mode in ("L", "RGB"):
            # PNG tRNS: one grey level or RGB colour is fully transparent.
            return im.convert("LA" if mode == "L" else "RGBA")
        return im
    if mode == "1":
        return im.convert("L")
    if mode == "P":
        has_alpha = transparency is not None or (im.palette is not None and im.palette.mode == "RGBA")
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "PA":
        return im.convert("RGBA")
    if mode in ("La", "RGBa"):
        return im.convert("RGBA")
    if mode in ("RGBX", "YCbCr", "HSV"):
        return im.convert("RGB")
    if mode.startswith("I;16"):
        # Pillow's own I;16 -> L clips everything above 255 to white; scale instead.
        values = np.asarray(im).astype(np.uint32)
        if not any(note.startswith("16-bit") for note in notes):
            notes.append(f"16-bit {fmt} converted to 8-bit")
        return Image.fromarray(_scale_16bit(values))
    if mode == "I":
        values = np.asarray(im).astype(np.int64)
        lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
        if lo >= 0 and hi <= 65535:
            if not any(note.startswith("16-bit") for note in notes):
                notes.append("32-bit integer image converted to 8-bit (as 16-bit values)")
            return Image.fromarray(_scale_16bit(values))
        notes.append(f"32-bit integer image mapped to 8-bit (values {lo}..{hi} stretched to 0..255)")
        return Image.fromarray(_stretch(values.astype(np.float64), lo, hi))
    if mode == "F":
        # A signalling NaN (damaged float TIFF) raises the FPU's invalid flag when widened,
        # which numpy turns into a RuntimeWarning; NaNs are handled just below anyway.
        with np.errstate(invalid="ignore"):
            values = np.asarray(im, dtype=np.float64)
        return Image.fromarray(_float_to_8bit(values, notes))
    if mode == "LAB":
        try:
            transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB")
            converted = ImageCms.applyTransform(im, transform)
            if converted is not None:  # None only with inPlace=True
                return converted
        except Exception:
            pass
    raise InputError(f"{label}: unsupported pixel format {mode}; convert it to 8-bit RGB first")


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    # round(v / 257): 65535 -> 255, 32768 -> 128, 257 -> 1, exact and without clipping.
    return ((values * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.rint((values - lo) * 255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def _float_to_8bit(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """Float images: 0..1 and 0..255 ranges are taken as such, anything else is stretched."""
    finite = np.isfinite(values)
    if not finite.all():
        values = np.where(finite, values, 0.0)
        notes.append("non-finite values (NaN/inf) in a float image set to black")
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        notes.append("32-bit float image (0..1) converted to 8-bit")
        return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    if lo >= 0.0 and hi <= 255.0:
        notes.append("32-bit float image (0..255) converted to 8-bit")
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    notes.append(f"32-bit float image mapped to 8-bit (values {lo:g}..{hi:g} stretched to 0..255)")
    return _stretch(values, lo, hi)


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


_ICC_SPACE = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK"}


def _apply_icc(im: Image.Image, icc: bytes, notes: list[str]) -> Image.Image:
    """Convert from the embedded profile to sRGB; on any failure keep the pixels as stored."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = (ImageCms.getProfileDescription(source) or "").strip() or "unnamed"
        space = source.profile.xcolor_space.strip()
    except Exception:
        notes.append("embedded ICC colour profile is unreadable; colours used as stored")
        return im
    if space == "RGB" and "srgb" in name.lower():
        return im  # already sRGB: converting would only cost time and rounding
    if space != _ICC_SPACE.get(im.mode):
        notes.append(f"embedded ICC profile {name!r} ({space}) does not match the {im.mode} image; ignored")
        return im
    try:
        if im.mode == "LA":  # lcms has no grey+alpha input: convert grey, keep alpha
            out = ImageCms.profileToProfile(im.getchannel("L"), source, _srgb_profile(), outputMode="RGB")
            if out is not None:  # None only with inPlace=True
                out.putalpha(im.getchannel("A"))
        else:
            out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
            out = ImageCms.profileToProfile(im, source, _srgb_profile(), outputMode=out_mode)
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        notes.append(f"embedded ICC profile {name!r} could not be applied ({reason}); colours used as stored")
        return im
    if out is None:  # pragma: no cover - only with inPlace=True
        return im
    notes.append(f"colours converted from the embedded ICC profile {name!r} to sRGB")
    return out


# --------------------------------------------------------------------------- fitting
