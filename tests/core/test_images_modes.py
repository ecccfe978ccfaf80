"""Pixel-mode conversions of morphapp.core.imaging.load: bit depths, palettes, alpha, CMYK, ICC."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from morphapp.core.imaging.decode import open_image
from morphapp.core.imaging.load import load_image

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)


def _pixels(path: Path, background: tuple[int, int, int] = WHITE) -> tuple[np.ndarray, list[str]]:
    image, notes = open_image(path, background=background)
    assert image.mode == "RGB"
    return np.asarray(image), notes


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png16(values: np.ndarray, color_type: int) -> bytes:
    """A real 16-bit PNG written by hand (Pillow cannot write 16-bit RGB/RGBA)."""
    height, width = values.shape[:2]
    rows = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- bit depths

LEVELS_16 = np.array([[0, 255, 257, 32768, 65280, 65535]], dtype=np.uint16)
LEVELS_8 = np.array([[0, 1, 1, 128, 254, 255]], dtype=np.uint8)  # round(v / 257)


@pytest.mark.parametrize(
    ("fmt", "mode", "name"),
    [("PNG", "I;16", "g.png"), ("TIFF", "I;16", "g.tif"), ("TIFF", "I;16B", "gb.tif")],
)
def test_16bit_grey_is_scaled_not_clipped(tmp_path: Path, fmt: str, mode: str, name: str) -> None:
    dtype = ">u2" if mode == "I;16B" else "<u2"
    image = Image.frombytes(mode, (6, 1), LEVELS_16.astype(dtype).tobytes())
    path = tmp_path / name
    image.save(path, format=fmt)
    pixels, notes = _pixels(path)
    assert np.array_equal(pixels[..., 0], LEVELS_8)
    assert np.array_equal(pixels[..., 0], pixels[..., 2])
    assert f"16-bit {fmt} converted to 8-bit" in notes


def test_16bit_rgb_png_is_scaled(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    values = rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    values[0, 0] = (65535, 32768, 0)
    path = tmp_path / "rgb16.png"
    path.write_bytes(_png16(values, color_type=2))
    pixels, notes = _pixels(path)
    assert tuple(pixels[0, 0]) == (255, 128, 0)
    # Pillow decodes 16-bit RGB by keeping the high byte: within one level of v / 257.
    assert np.abs(pixels.astype(float) - values / 257.0).max() <= 1.0
    assert "16-bit PNG converted to 8-bit" in notes


def test_16bit_rgba_png_is_scaled_and_composited(tmp_path: Path) -> None:
    values = np.array([[[65535, 0, 0, 65535], [0, 0, 65535, 0]]], dtype=np.uint16)
    path = tmp_path / "rgba16.png"
    path.write_bytes(_png16(values, color_type=6))
    pixels, notes = _pixels(path, background=(0, 255, 0))
    assert tuple(pixels[0, 0]) == RED and tuple(pixels[0, 1]) == (0, 255, 0)
    assert "16-bit PNG converted to 8-bit" in notes and "alpha composited on #00ff00" in notes


def test_32bit_integer_image(tmp_path: Path) -> None:
    path = tmp_path / "i32.tif"
    Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32)).save(path)
    pixels, notes = _pixels(path)
    assert list(pixels[0, :, 0]) == [0, 128, 255]
    assert any("32-bit integer" in note for note in notes)
    Image.fromarray(np.array([[-100, 0, 100]], dtype=np.int32)).save(path)
    pixels, notes = _pixels(path)
    assert list(pixels[0, :, 0]) == [0, 128, 255]
    assert any("-100..100 stretched" in note for note in notes)


@pytest.mark.parametrize(
    ("values", "expected", "note"),
    [
        ([0.0, 0.5, 1.0], [0, 128, 255], "(0..1)"),
        ([0.0, 100.0, 255.0], [0, 100, 255], "(0..255)"),
        ([-1.0, 1.0, 3.0], [0, 128, 255], "-1..3 stretched"),
        ([float("nan"), 0.25, 1.0], [0, 64, 255], "NaN"),
    ],
)
def test_float_images(tmp_path: Path, values: list[float], expected: list[int], note: str) -> None:
    path = tmp_path / "f.tif"
    Image.fromarray(np.array([values], dtype=np.float32)).save(path)
    with Image.open(path) as raw:
        assert raw.mode == "F"
    pixels, notes = _pixels(path)
    assert list(pixels[0, :, 1]) == expected
    assert any(note in n for n in notes), notes


# --------------------------------------------------------------------------- grey, palette, alpha


def test_grey_and_bilevel(tmp_path: Path) -> None:
    path = tmp_path / "l.png"
    Image.new("L", (4, 4), 77).save(path)
    pixels, notes = _pixels(path)
    assert np.all(pixels == 77) and notes == []
    bilevel = Image.fromarray(np.array([[0, 255, 255, 0]], dtype=np.uint8)).convert("1")
    bilevel.save(path_b := tmp_path / "b.bmp")
    pixels, _ = _pixels(path_b)
    assert list(pixels[0, :, 0]) == [0, 255, 255, 0]


def test_grey_with_alpha(tmp_path: Path) -> None:
    arr = np.zeros((1, 3, 2), dtype=np.uint8)
    arr[0] = [(200, 255), (255, 0), (255, 128)]
    path = tmp_path / "la.png"
    Image.fromarray(arr, "LA").save(path)
    pixels, notes = _pixels(path, background=BLACK)
    assert tuple(pixels[0, 0]) == (200, 200, 200)
    assert tuple(pixels[0, 1]) == BLACK
    assert abs(int(pixels[0, 2, 0]) - 128) <= 1
    assert notes == ["alpha composited on black"]


def _palette_image(transparent_index: int | None) -> Image.Image:
    image = Image.new("P", (4, 1))
    image.putpalette([255, 0, 0, 0, 0, 255, 0, 255, 0] + [0] * (256 * 3 - 9))
    image.putdata([0, 1, 2, 1])
    if transparent_index is not None:
        image.info["transparency"] = transparent_index
    return image


def test_palette_without_transparency(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    _palette_image(None).save(path)
    pixels, notes = _pixels(path, background=BLACK)
    assert [tuple(p) for p in pixels[0]] == [RED, (0, 0, 255), (0, 255, 0), (0, 0, 255)]
    assert notes == []


@pytest.mark.parametrize("name", ["p.png", "p.gif"])
def test_palette_transparency_is_composited(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    image = _palette_image(1)
    image.save(path, transparency=1)
    pixels, notes = _pixels(path, background=BLACK)
    assert [tuple(p) for p in pixels[0]] == [RED, BLACK, (0, 255, 0), BLACK]
    assert notes == ["alpha composited on black"]
    pixels, _ = _pixels(path, background=(1, 2, 3))
    assert tuple(pixels[0, 1]) == (1, 2, 3)


def test_png_palette_with_partial_alpha(tmp_path: Path) -> None:
    path = tmp_path / "pa.png"
    image = _palette_image(None)
    image.save(path, transparency=bytes([255, 0, 128]))  # per-entry alpha (tRNS)
    pixels, _ = _pixels(path, background=BLACK)
    assert tuple(pixels[0, 0]) == RED and tuple(pixels[0, 1]) == BLACK
    assert abs(int(pixels[0, 2, 1]) - 128) <= 1


def test_rgb_png_with_a_transparent_colour(tmp_path: Path) -> None:
    path = tmp_path / "trns.png"
    image = Image.new("RGB", (2, 1), RED)
    image.putpixel((1, 0), (0, 0, 255))
    image.save(path, transparency=(0, 0, 255))
    pixels, notes = _pixels(path, background=WHITE)
    assert tuple(pixels[0, 0]) == RED and tuple(pixels[0, 1]) == WHITE
    assert notes == ["alpha composited on white"]


def test_rgba_straight_alpha_blend(tmp_path: Path) -> None:
    path = tmp_path / "rgba.webp"
    Image.new("RGBA", (4, 4), (255, 0, 0, 128)).save(path, lossless=True)
    on_white, _ = _pixels(path, WHITE)
    on_black, _ = _pixels(path, BLACK)
    assert np.all(np.abs(on_white.astype(int) - (255, 127, 127)) <= 1)
    assert np.all(np.abs(on_black.astype(int) - (128, 0, 0)) <= 1)


def test_opaque_alpha_channel_adds_no_note(tmp_path: Path) -> None:
    path = tmp_path / "opaque.png"
    Image.new("RGBA", (4, 4), (1, 2, 3, 255)).save(path)
    pixels, notes = _pixels(path)
    assert np.all(pixels == (1, 2, 3)) and notes == []


# --------------------------------------------------------------------------- CMYK


def test_cmyk_jpeg_of_pure_red_reads_back_red(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(path, quality=95)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    loaded = load_image(path, (16, 16))
    assert np.all(np.abs(loaded.pixels.astype(int) - RED) <= 8)
    assert any("CMYK" in note for note in loaded.notes)


def test_adobe_inverted_cmyk_jpeg(tmp_path: Path) -> None:
    # Photoshop writes CMYK JPEGs inverted with an Adobe APP14 marker; Pillow must undo it.
    path = tmp_path / "adobe.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(path, quality=95)
    data = path.read_bytes()
    assert b"Adobe" in data  # Pillow writes the Adobe marker (and inverted data) for CMYK
    pixels, _ = _pixels(path)
    assert np.all(np.abs(pixels.astype(int) - RED) <= 8)


def test_cmyk_tiff(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.tif"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path)
    pixels, _ = _pixels(path)
    assert np.all(pixels == RED)


# --------------------------------------------------------------------------- ICC


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # ASCII part, then empty Unicode (language + count) and ScriptCode (code, count, 67 bytes) parts.
    unicode_and_scriptcode = b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + unicode_and_scriptcode


def _icc(space: bytes, tags: dict[bytes, bytes]) -> bytes:
    """A minimal ICC v2 display profile, assembled by hand."""
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags.items():
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + space
        + b"XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


D50 = (0.9642, 1.0, 0.8249)
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)

# An RGB profile whose red primary is sRGB's green and vice versa: unmistakable if applied.
SWAPPED_RG = _icc(
    b"RGB ",
    {
        b"desc": _desc("Swapped RG test"),
        b"wtpt": _xyz(*D50),
        b"rXYZ": _xyz(*SRGB_GREEN),
        b"gXYZ": _xyz(*SRGB_RED),
        b"bXYZ": _xyz(*SRGB_BLUE),
        b"rTRC": _curve(2.2),
        b"gTRC": _curve(2.2),
        b"bTRC": _curve(2.2),
    },
)
LINEAR_GREY = _icc(b"GRAY", {b"desc": _desc("Linear grey test"), b"wtpt": _xyz(*D50), b"kTRC": _curve(1.0)})


def test_test_profiles_are_valid() -> None:
    from io import BytesIO

    profile = ImageCms.ImageCmsProfile(BytesIO(SWAPPED_RG))
    assert ImageCms.getProfileDescription(profile).strip() == "Swapped RG test"


def test_rgb_icc_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    path = tmp_path / "swapped.png"
    Image.new("RGB", (4, 4), RED).save(path, icc_profile=SWAPPED_RG)
    pixels, notes = _pixels(path)
    assert np.all(np.abs(pixels.astype(int) - (0, 255, 0)) <= 12), pixels[0, 0]
    assert "colours converted from the embedded ICC profile 'Swapped RG test' to sRGB" in notes


def test_icc_profile_with_alpha_keeps_the_alpha(tmp_path: Path) -> None:
    path = tmp_path / "swapped_rgba.png"
    image = Image.new("RGBA", (2, 1), (255, 0, 0, 255))
    image.putpixel((1, 0), (255, 0, 0, 0))
    image.save(path, icc_profile=SWAPPED_RG)
    pixels, _ = _pixels(path, background=BLACK)
    assert pixels[0, 0, 1] > 240 and pixels[0, 0, 0] < 15
    assert tuple(pixels[0, 1]) == BLACK


def test_grey_icc_profile_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "lin.png"
    Image.new("L", (4, 4), 128).save(path, icc_profile=LINEAR_GREY)
    pixels, notes = _pixels(path)
    # Linear 0.502 encodes to about 188 in sRGB.
    assert np.all(np.abs(pixels.astype(int) - 188) <= 3), pixels[0, 0]
    assert any("Linear grey test" in note for note in notes)
    arr = np.array([[[128, 255], [128, 0]]], dtype=np.uint8)
    Image.fromarray(arr, "LA").save(path_la := tmp_path / "lin_la.png", icc_profile=LINEAR_GREY)
    pixels, _ = _pixels(path_la, background=BLACK)
    assert abs(int(pixels[0, 0, 0]) - 188) <= 3 and tuple(pixels[0, 1]) == BLACK


def test_srgb_profile_leaves_pixels_alone(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "srgb.jpg"
    Image.new("RGB", (8, 8), (12, 200, 99)).save(path, icc_profile=srgb, quality=100)
    with Image.open(path) as raw:
        stored = np.asarray(raw)
    pixels, notes = _pixels(path)
    assert np.array_equal(pixels, stored) and notes == []


def test_broken_icc_profile_falls_back_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "garbage.png"
    Image.new("RGB", (4, 4), RED).save(path, icc_profile=b"not a profile at all" * 10)
    pixels, notes = _pixels(path)
    assert np.all(pixels == RED)
    assert notes == ["embedded ICC colour profile is unreadable; colours used as stored"]


def test_icc_profile_of_the_wrong_colour_space_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "mismatch.png"
    Image.new("L", (4, 4), 90).save(path, icc_profile=SWAPPED_RG)
    pixels, notes = _pixels(path)
    assert np.all(pixels == 90)
    assert len(notes) == 1 and "does not match the L image; ignored" in notes[0]
