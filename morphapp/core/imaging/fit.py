"""Fit an image to the output size: crop to the aspect, letterbox (pad), or stretch."""

from __future__ import annotations

from typing import Literal

from PIL import Image

from morphapp.core.imaging.color import to_rgb

FitMode = Literal["crop", "pad", "stretch"]
FIT_MODES: tuple[FitMode, ...] = ("crop", "pad", "stretch")

# Downscales resample with Lanczos after an integer pre-reduction (Pillow's
# ``reducing_gap``); 3.0 is indistinguishable from plain Lanczos and much faster.
_REDUCING_GAP = 3.0


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if width < 1 or height < 1 or (width, height) != tuple(size):
        raise ValueError(f"size must be two positive integers, got {size!r}")
    return width, height


def _resize(
    image: Image.Image,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    """High-quality resize of ``box`` (default: all) of ``image`` to ``size``."""
    if box is None:
        box = (0.0, 0.0, float(image.width), float(image.height))
    shrinking = size[0] < box[2] - box[0] or size[1] < box[3] - box[1]
    if shrinking:
        # Lanczos avoids aliasing; reducing_gap makes huge downscales fast.
        return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=_REDUCING_GAP)
    # Bicubic for upscales: Lanczos rings visibly around edges when enlarging.
    return image.resize(size, Image.Resampling.BICUBIC, box=box)


CROP_NOTE_SHARE = 0.10  # a crop that cuts more than this share of a picture is mentioned
UPSCALE_NOTE = 1.5  # an enlargement beyond this is mentioned: the frames will look soft


def fit_notes(source_size: tuple[int, int], size: tuple[int, int], fit: FitMode) -> list[str]:
    """What fitting a ``source_size`` picture to ``size`` does that an artist should hear about: a
    crop that cuts more than a tenth of it, an enlargement past 1.5x. Worded for both faces."""
    src_w, src_h = source_size
    width, height = size
    notes = []
    if fit == "crop":
        kept = min((width / height) / (src_w / src_h), (src_w / src_h) / (width / height))
        if 1.0 - kept > CROP_NOTE_SHARE:
            cut = "left and right" if src_w / src_h > width / height else "top and bottom"
            notes.append(
                f"cropped to {width}x{height}: {1 - kept:.0%} of the picture ({cut}) is cut off; "
                "fit 'pad' keeps all of it"
            )
    scales = (width / src_w, height / src_h)
    scale = min(scales) if fit == "pad" else max(scales)
    if scale > UPSCALE_NOTE:
        notes.append(f"enlarged {scale:.1f}x from {src_w}x{src_h}: it will look soft at {width}x{height}")
    return notes


def fit_image(
    image: Image.Image,
    size: tuple[int, int],
    fit: FitMode = "crop",
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Fit ``image`` to exactly ``size`` (w, h) as an RGB image.

    - ``crop``: centre-crop to the target aspect ratio, then resize (fills the frame);
    - ``pad``: resize to fit inside, letterbox on ``background`` (nothing is cut off);
    - ``stretch``: resize to the size, ignoring the aspect ratio.
    """
    width, height = check_size(size)
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, got {fit!r}")
    if image.mode != "RGB":
        image = to_rgb(image, background, [], label="image", icc=image.info.get("icc_profile"), fmt="image")
    src_w, src_h = image.size
    if fit == "stretch":
        return _resize(image, (width, height))
    if fit == "crop":
        # Float box: sub-pixel-exact centring, no off-by-one drift on odd sizes.
        target_aspect = width / height
        if src_w / src_h > target_aspect:
            crop_w = src_h * target_aspect
            left = (src_w - crop_w) / 2
            box = (left, 0.0, left + crop_w, float(src_h))
        else:
            crop_h = src_w / target_aspect
            top = (src_h - crop_h) / 2
            box = (0.0, top, float(src_w), top + crop_h)
        return _resize(image, (width, height), box)
    scale = min(width / src_w, height / src_h)
    inner = (
        min(width, max(1, round(src_w * scale))),
        min(height, max(1, round(src_h * scale))),
    )
    canvas = Image.new("RGB", (width, height), tuple(background))
    canvas.paste(_resize(image, inner), ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return canvas
