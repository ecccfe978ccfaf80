"""open_image / fit_image / load_image: geometry, EXIF, frames, errors, the real test photos."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import threading
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.core.imaging import pixel_limit
from morphapp.core.imaging.decode import open_image
from morphapp.core.imaging.load import LoadedImage, fit_image, load_image
from morphapp.errors import InputError

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)


def _save(tmp_path: Path, name: str, image: Image.Image, **params: object) -> Path:
    path = tmp_path / name
    image.save(path, **params)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int, color_type: int = 0) -> bytes:
    """A PNG that claims a size but has no pixel data: cheap stand-in for a huge image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


def _stripes(
    width: int, height: int, colors: list[tuple[int, int, int]], vertical: bool = True
) -> Image.Image:
    """Equal colour bands left to right (or top to bottom)."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    n = len(colors)
    for i, color in enumerate(colors):
        if vertical:
            arr[:, i * width // n : (i + 1) * width // n] = color
        else:
            arr[i * height // n : (i + 1) * height // n, :] = color
    return Image.fromarray(arr)


def _close(pixel: np.ndarray, color: tuple[int, int, int], tol: int = 2) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tol))


# --------------------------------------------------------------------------- real photos


def test_every_test_photo_loads_in_every_fit_mode(pairs_dir: Path) -> None:
    photos = sorted(p for p in pairs_dir.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    assert photos
    for photo in photos:
        with Image.open(photo) as raw:
            raw_size = raw.size
        for fit in ("crop", "pad", "stretch"):
            loaded = load_image(photo, (256, 192), fit)
            assert isinstance(loaded, LoadedImage)
            assert loaded.pixels.shape == (192, 256, 3)
            assert loaded.pixels.dtype == np.uint8
            assert loaded.pixels.flags.c_contiguous and loaded.pixels.flags.writeable
            assert loaded.source_size == raw_size
            assert 5 < loaded.pixels.mean() < 250, photo.name  # a real picture, not a blank


def test_photo_with_alpha_is_composited_on_the_background(pairs_dir: Path) -> None:
    path = pairs_dir / "lion.png"
    with Image.open(path) as raw:
        assert raw.mode == "RGBA"
        rgba = np.asarray(raw.convert("RGBA"))
    on_white = load_image(path, rgba.shape[1::-1], "stretch", WHITE)
    on_black = load_image(path, rgba.shape[1::-1], "stretch", BLACK)
    assert on_white.notes == ("alpha composited on white",)
    assert on_black.notes == ("alpha composited on black",)
    opaque = rgba[..., 3] == 255
    assert np.array_equal(on_white.pixels[opaque], on_black.pixels[opaque])
    assert np.array_equal(on_white.pixels[opaque], rgba[..., :3][opaque])
    partial = ~opaque
    assert partial.any()
    assert np.all(on_white.pixels[partial].astype(int) >= on_black.pixels[partial])
    assert (on_white.pixels[partial].astype(int) - on_black.pixels[partial]).mean() > 20


def test_photo_with_a_display_p3_profile_is_converted_to_srgb(pairs_dir: Path) -> None:
    path = pairs_dir / "dog.png"
    image, notes = open_image(path)
    assert any("ICC profile 'Display'" in note and "sRGB" in note for note in notes)
    with Image.open(path) as raw:
        stored = np.asarray(raw.convert("RGB")).astype(int)
    diff = np.abs(np.asarray(image).astype(int) - stored)
    assert diff.mean() > 1.0  # P3 -> sRGB moves colours...
    assert diff.mean() < 20.0  # ...but it is still the same picture


# --------------------------------------------------------------------------- geometry


def test_crop_takes_the_centre() -> None:
    wide = _stripes(300, 100, [RED, GREEN, BLUE])
    out = np.asarray(fit_image(wide, (40, 40), "crop"))
    assert out.shape == (40, 40, 3)
    assert _close(out[5:-5, 5:-5].reshape(-1, 3).min(axis=0), GREEN, 2)
    assert _close(out[5:-5, 5:-5].reshape(-1, 3).max(axis=0), GREEN, 2)
    tall = _stripes(100, 300, [RED, GREEN, BLUE], vertical=False)
    out = np.asarray(fit_image(tall, (64, 32), "crop"))
    assert out.shape == (32, 64, 3)
    assert _close(out[16, 32], GREEN)


def test_crop_of_a_wide_image_to_a_wide_target_keeps_the_middle_columns() -> None:
    # 400x100 into 200x100: the middle 200 columns (blue, green) survive, red/white do not.
    image = _stripes(400, 100, [RED, BLUE, GREEN, WHITE])
    out = np.asarray(fit_image(image, (200, 100), "crop"))
    assert _close(out[50, 50], BLUE) and _close(out[50, 150], GREEN)


def test_pad_letterboxes_with_background_bars_of_the_right_size() -> None:
    image = _stripes(300, 100, [RED, GREEN, BLUE])
    bg = (10, 20, 30)
    out = np.asarray(fit_image(image, (64, 64), "pad", bg))
    # 300x100 scaled to 64 wide is 64x21, centred: rows 21..41 are the picture.
    assert out.shape == (64, 64, 3)
    assert np.all(out[:21] == bg) and np.all(out[42:] == bg)
    assert not np.any(np.all(out[22:41] == bg, axis=-1))
    assert _close(out[31, 2], RED, 3) and _close(out[31, 32], GREEN, 3) and _close(out[31, 61], BLUE, 3)
    tall = _stripes(100, 300, [RED, GREEN, BLUE], vertical=False)
    out = np.asarray(fit_image(tall, (64, 64), "pad", bg))
    assert np.all(out[:, :21] == bg) and np.all(out[:, 42:] == bg)


def test_stretch_ignores_the_aspect_ratio() -> None:
    image = _stripes(300, 100, [RED, GREEN, BLUE])
    out = np.asarray(fit_image(image, (60, 90), "stretch"))
    assert out.shape == (90, 60, 3)
    assert _close(out[0, 5], RED, 3) and _close(out[89, 30], GREEN, 3) and _close(out[45, 55], BLUE, 3)


@pytest.mark.parametrize("src", [(10000, 10), (10, 10000), (1, 1), (1, 7), (3, 1)])
@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_extremely_thin_images_still_fill_the_requested_size(
    tmp_path: Path, src: tuple[int, int], fit: str
) -> None:
    path = _save(tmp_path, "thin.png", Image.new("RGB", src, RED))
    loaded = load_image(path, (64, 48), fit, BLACK)  # type: ignore[arg-type]
    assert loaded.pixels.shape == (48, 64, 3)
    assert loaded.source_size == src
    if fit == "pad":
        assert (loaded.pixels == RED).all(axis=-1).any()
        assert (loaded.pixels == BLACK).all(axis=-1).any()
    else:
        assert (loaded.pixels == RED).all()


def test_pad_of_a_single_pixel_is_a_centred_square() -> None:
    out = np.asarray(fit_image(Image.new("RGB", (1, 1), RED), (64, 48), "pad"))
    assert np.all(out[:, 8:56] == RED)
    assert np.all(out[:, :8] == WHITE) and np.all(out[:, 56:] == WHITE)


def test_big_downscale_averages_instead_of_aliasing() -> None:
    # One-pixel black/white checkerboard: proper filtering gives mid grey, nearest gives noise.
    board = (np.indices((1000, 1000)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = np.asarray(fit_image(Image.fromarray(board).convert("RGB"), (50, 50), "stretch")).astype(int)
    assert abs(out.mean() - 127.5) < 3 and out.std() < 4


def test_fit_image_converts_other_modes_and_validates_arguments() -> None:
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    out = fit_image(rgba, (8, 8), "stretch", BLUE)
    assert out.mode == "RGB" and np.all(np.asarray(out) == BLUE)
    with pytest.raises(ValueError, match="fit must be one of"):
        fit_image(rgba, (8, 8), "zoom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        fit_image(rgba, (0, 8))
    with pytest.raises(ValueError, match="positive"):
        load_image("whatever.png", (8, -1))


# --------------------------------------------------------------------------- EXIF


def _stored_for_orientation(displayed: np.ndarray, orientation: int) -> np.ndarray:
    """How a camera stores ``displayed`` when it writes EXIF ``orientation`` (per the EXIF spec)."""
    return {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirrored
        3: lambda a: a[::-1, ::-1],  # upside down
        4: lambda a: a[::-1, :],  # mirrored upside down
        5: lambda a: a.transpose(1, 0, 2),  # row 0 = left side, column 0 = top
        6: lambda a: np.rot90(a, 1),  # row 0 = right side, column 0 = top (display rotates 90° CW)
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # row 0 = right side, column 0 = bottom
        8: lambda a: np.rot90(a, -1),  # row 0 = left side, column 0 = bottom
    }[orientation](displayed)


def _marked_picture() -> np.ndarray:
    """48x32, white, with a red top-left and a blue bottom-right-ish marker: no symmetry."""
    arr = np.full((32, 48, 3), 255, dtype=np.uint8)
    arr[2:10, 2:14] = RED
    arr[20:30, 30:36] = BLUE
    return arr


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    displayed = _marked_picture()
    stored = Image.fromarray(np.ascontiguousarray(_stored_for_orientation(displayed, orientation)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _save(tmp_path, f"o{orientation}.png", stored, exif=exif.tobytes())
    image, notes = open_image(path)
    assert notes == []
    assert np.array_equal(np.asarray(image), displayed)
    loaded = load_image(path, (48, 32), "stretch")
    assert loaded.source_size == (48, 32)
    assert np.array_equal(loaded.pixels, displayed)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_of_a_large_jpeg_decoded_at_reduced_scale(tmp_path: Path, orientation: int) -> None:
    # 1600x1200 displayed, scaled 8x down: JPEG draft decoding must respect the rotation.
    displayed = np.repeat(np.repeat(_marked_picture(), 50, axis=0), 33, axis=1)[:1200, :1584]
    stored = Image.fromarray(np.ascontiguousarray(_stored_for_orientation(displayed, orientation)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _save(tmp_path, "photo.jpg", stored, exif=exif.tobytes(), quality=92)
    loaded = load_image(path, (198, 150), "stretch")
    assert loaded.source_size == (1584, 1200)
    expected = np.asarray(Image.fromarray(displayed).resize((198, 150), Image.Resampling.LANCZOS)).astype(int)
    assert np.abs(loaded.pixels.astype(int) - expected).mean() < 3


def test_draft_decoding_matches_full_decoding(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:1800, 0:2400]
    arr = np.stack([xx * 255 // 2399, yy * 255 // 1799, (xx + yy) % 256], axis=-1).astype(np.uint8)
    path = _save(tmp_path, "big.jpg", Image.fromarray(arr), quality=90)
    for fit in ("crop", "pad", "stretch"):
        fast = load_image(path, (256, 256), fit)  # type: ignore[arg-type]
        full_image, _ = open_image(path)
        full = np.asarray(fit_image(full_image, (256, 256), fit))  # type: ignore[arg-type]
        assert fast.source_size == (2400, 1800)
        assert np.abs(fast.pixels.astype(int) - full).mean() < 2.0, fit


# --------------------------------------------------------------------------- frames


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in (RED, GREEN, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(path, (16, 8), "stretch")
    assert _close(loaded.pixels.reshape(-1, 3).mean(axis=0), RED, 1)
    assert "animated GIF: using the first of 3 frames" in loaded.notes


def test_animated_webp_and_png_use_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in (BLUE, RED)]
    for name, params in (("anim.webp", {"lossless": True}), ("anim.png", {})):
        path = tmp_path / name
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, **params)
        loaded = load_image(path, (16, 16))
        assert np.all(loaded.pixels == BLUE), name
        assert any("using the first of 2 frames" in note for note in loaded.notes), name


def test_multi_page_tiff_uses_the_first_page(tmp_path: Path) -> None:
    pages = [Image.new("RGB", (16, 16), c) for c in (GREEN, RED, BLUE)]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    loaded = load_image(path, (16, 16))
    assert np.all(loaded.pixels == GREEN)
    assert "multi-page TIFF: using the first of 3 pages" in loaded.notes


def test_single_frame_gif_has_no_note(tmp_path: Path) -> None:
    path = _save(tmp_path, "still.gif", Image.new("RGB", (8, 8), RED))
    loaded = load_image(path, (8, 8))
    assert loaded.notes == ()
    assert np.all(loaded.pixels == RED)


def test_a_file_is_decoded_by_its_content_not_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "actually_png.jpg"
    Image.new("RGB", (8, 8), GREEN).save(path, format="PNG")
    assert np.all(load_image(path, (8, 8)).pixels == GREEN)


# --------------------------------------------------------------------------- errors


def _error(path: Path | str, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        load_image(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "missing.png").endswith("missing.png: file not found")


def test_missing_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert "file not found" in _error(tmp_path / "file.txt" / "x.png")


def test_folder(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert "dir: is a folder, not an image" in _error(tmp_path / "dir")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"")
    assert "x.png: file is empty (0 bytes)" in _error(path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just some notes\nnot a picture\n")
    message = _error(path)
    assert "not an image Pillow can read" in message and "text file" in message
    assert "PNG, JPEG, WebP, BMP, TIFF are supported" in message


def test_html_page_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "cat.jpg"
    path.write_text("<!DOCTYPE html>\n<html><head><title>Cat</title></head><body></body></html>")
    message = _error(path)
    assert "not an image Pillow can read" in message and "HTML page" in message


def test_unknown_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(bytes(range(256)) * 4)
    message = _error(path)
    assert message.endswith("not an image Pillow can read (PNG, JPEG, WebP, BMP, TIFF are supported)")


def test_format_pillow_knows_but_we_do_not_support(tmp_path: Path) -> None:
    path = tmp_path / "icon.png"
    Image.new("RGB", (16, 16), RED).save(path, format="ICO")
    assert "not an image Pillow can read" in _error(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    path = tmp_path / "x.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    message = _error(path)
    assert "x.jpg: file is truncated or corrupt (" in message and "truncated" in message.split("(")[1]


def test_truncated_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(buf, "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    assert "x.png: file is truncated or corrupt" in _error(path)


def test_text_that_happens_to_start_like_a_bmp_is_not_called_a_damaged_bmp(tmp_path: Path) -> None:
    path = tmp_path / "cars.bmp"
    path.write_text("BMW and other cars\n")
    assert "text file" in _error(path)
    path.write_bytes(b"BM" + b"\x10\x00\x00\x00" + b"\0\0\0\0" + b"\xff" * 10)
    assert "truncated or corrupt" in _error(path)


def test_image_header_that_cannot_be_parsed(tmp_path: Path) -> None:
    path = tmp_path / "stub.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")  # a JPEG that stops after a few bytes
    assert "stub.jpg: file is truncated or corrupt" in _error(path)


# Between our limit and twice it, Pillow's raised guard still warns before our check runs.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_header_claiming_a_huge_size_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(30000, 30000))  # beyond Pillow's own hard limit too
    assert "big.png: 900,000,000 pixels is over the 256-megapixel limit" in _error(path)
    path.write_bytes(_png_header_only(17000, 16000))  # over ours, under twice ours
    assert "big.png: 17000x16000 pixels is over the 256-megapixel limit" in _error(path)
    with warnings.catch_warnings():
        # Even with warnings as errors: the loader keeps Pillow's bomb warning quiet (our own
        # check refuses the image right after), so it is the same message.
        warnings.simplefilter("error")
        assert "big.png: 17000x16000 pixels is over the 256-megapixel limit" in _error(path)


def test_lowered_limit_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pixel_limit, "MAX_IMAGE_PIXELS", 100 * 100)
    path = _save(tmp_path, "small.png", Image.new("RGB", (101, 100)))
    assert "small.png: 101x100 pixels is over the 10000-pixel limit" in _error(path)
    ok = _save(tmp_path, "ok.png", Image.new("RGB", (100, 100)))
    assert load_image(ok, (8, 8)).pixels.shape == (8, 8, 3)


def test_images_over_pillows_default_limit_but_under_ours_are_not_refused(tmp_path: Path) -> None:
    # 12000x10000 = 120 MP: above Pillow's default warning threshold (~89 MP). With no pixel
    # data it must get as far as decoding (and fail there), with no bomb warning or error.
    path = tmp_path / "tall.png"
    path.write_bytes(_png_header_only(12000, 10000))
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = _error(path)
    assert "tall.png: file is truncated or corrupt" in message
    assert "exceeds limit" not in message and "over the" not in message
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # restored after the call


def test_pillow_global_limit_is_left_as_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path, "a.png", Image.new("RGB", (4, 4), RED))
    for value in (None, 10**12, 1000):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", value)
        load_image(path, (8, 8))
        assert value == Image.MAX_IMAGE_PIXELS


def test_concurrent_loads_restore_pillows_limit(tmp_path: Path) -> None:
    paths = [_save(tmp_path, f"{i}.png", Image.new("RGB", (64, 64), (i, 0, 0))) for i in range(8)]
    before = Image.MAX_IMAGE_PIXELS
    barrier = threading.Barrier(4)

    def work(path: Path) -> int:
        if int(path.stem) < 4:  # the first four run at the same time
            barrier.wait(timeout=5)
        return int(load_image(path, (16, 16)).pixels[0, 0, 0])

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, paths)) == list(range(8))
    assert before == Image.MAX_IMAGE_PIXELS


def test_engine_module_imports_neither_qt_nor_torch() -> None:
    code = (
        "import sys, morphapp.core.imaging.load; "
        "bad = [m for m in ('torch', 'PySide6', 'PyQt5', 'PyQt6', 'qtpy') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_crop_that_cuts_much_or_an_enlargement_is_said(tmp_path: Path, pairs_dir: Path) -> None:
    """Issue 24: a 512x768 picture was cropped square without a word (the rabbit lost its ears),
    512-px sources were enlarged to 1080p without a word."""
    tall = _save(tmp_path, "tall.png", Image.new("RGB", (512, 768), RED))
    (crop_note,) = load_image(tall, (512, 512)).notes
    assert crop_note == (
        "cropped to 512x512: 33% of the picture (top and bottom) is cut off; fit 'pad' keeps all of it"
    )
    assert load_image(tall, (512, 512), "pad").notes == ()  # nothing cut, nothing enlarged
    assert load_image(tall, (512, 700)).notes == ()  # 9 % cut: not worth a word

    cat = pairs_dir / "cat.png"  # 512x512
    notes = load_image(cat, (1920, 1080)).notes
    assert notes == (
        "cropped to 1920x1080: 44% of the picture (top and bottom) is cut off; fit 'pad' keeps all of it",
        "enlarged 3.8x from 512x512: it will look soft at 1920x1080",
    )
    assert load_image(cat, (768, 768)).notes == ()  # 1.5x: fine
