"""Guarantee 1: bad images give one clear error and change nothing; odd but valid ones just work.

End to end through ``morphapp render``. The unit tests in tests/core/test_images*.py check the
loader's pixels in detail; here every case goes through the whole command: its exit code, its
stderr (one line naming the file, or notes only, never a Python warning or traceback), and
what is left on disk (nothing new, the previous output byte-identical).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.core.imaging.pixel_limit import MAX_IMAGE_PIXELS
from tests.reliability.conftest import SIZE, cli_env, error_line, run_cli, run_cli_subprocess, snapshot

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
QUADRANTS = (RED, GREEN, BLUE, WHITE)  # top-left, top-right, bottom-left, bottom-right


# --------------------------------------------------------------------------- file makers


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, bit_depth: int, color_type: int, rows: bytes | None = None) -> bytes:
    """A PNG written by hand: 16-bit RGB (Pillow cannot write it) or a real decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if rows is None:  # all-zero rows, compressed as a stream: 268 MP of zeros is a ~260 kB file
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
        row = b"\x00" * (1 + width * channels * bit_depth // 8)
        packer = zlib.compressobj(9)
        data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        data = zlib.compress(rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _quadrants(width: int = 48, height: int = 32) -> np.ndarray:
    """The picture as it should be displayed: four colours, so any rotation or mirror shows."""
    arr = np.empty((height, width, 3), dtype=np.uint8)
    h, w = height // 2, width // 2
    arr[:h, :w], arr[:h, w:], arr[h:, :w], arr[h:, w:] = QUADRANTS
    return arr


def _stored_for_orientation(displayed: np.ndarray, orientation: int) -> np.ndarray:
    """What a camera stores so that applying EXIF ``orientation`` displays ``displayed``."""
    undo = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),  # displayed = stored rotated 90 degrees clockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, -1),
    }
    return np.ascontiguousarray(undo[orientation](displayed))


def _strip_adobe_marker(jpeg: bytes) -> bytes:
    """Drop the APP14 "Adobe" segment: a CMYK JPEG as non-Adobe software writes it."""
    out, pos = bytearray(jpeg[:2]), 2
    while pos < len(jpeg):
        marker = jpeg[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out += jpeg[pos:]
            break
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        segment = jpeg[pos : pos + 2 + length]
        if not (marker == 0xEE and segment[4:9] == b"Adobe"):
            out += segment
        pos += 2 + length
    assert b"Adobe" not in out
    return bytes(out)


def _damaged_exif_jpeg() -> bytes:
    """A JPEG whose EXIF block points past its end (Pillow warns; we must stay quiet)."""
    exif = Image.Exif()
    exif[0x010E] = "a description long enough to live outside the IFD entry"
    data = bytearray(_encoded(Image.new("RGB", (40, 40), RED), "JPEG", exif=exif, quality=95))
    start = data.find(b"Exif\x00\x00") + 6 + 8 + 2  # TIFF header, entry count: the first entry
    data[start + 4 : start + 8] = b"\x00\x00\xff\xff"  # its count: 65535 bytes
    return bytes(data)


# --------------------------------------------------------------------------- bad images

BadMaker = Callable[[Path], bytes]


def _truncated_photo(pairs_dir: Path, name: str) -> bytes:
    data = (pairs_dir / name).read_bytes()
    return data[: len(data) // 2]


BAD_IMAGES: list[tuple[str, str, str]] = [
    # (file name, how it is made, what the one-line error must say)
    ("half.jpg", "truncated-jpeg", "truncated or corrupt"),
    ("half.png", "truncated-png", "truncated or corrupt"),
    ("bomb.png", "bomb", "limit"),
    ("empty.png", "empty", "empty (0 bytes)"),
    ("readme.jpg", "text", "a text file"),
    ("page.png", "html", "an HTML page"),
    ("portable.png", "ppm", "not an image Pillow can read"),
    ("icon.jpg", "ico", "not an image Pillow can read"),
]


def _make_bad(kind: str, pairs_dir: Path) -> bytes:
    if kind == "truncated-jpeg":
        return _truncated_photo(pairs_dir, "house1.jpg")
    if kind == "truncated-png":
        return _truncated_photo(pairs_dir, "cat.png")
    if kind == "bomb":
        # A real bomb: 16384 x 16384 grey (268 MP, over our 256 MP limit) in ~260 kB.
        assert MAX_IMAGE_PIXELS < 16384 * 16384
        return _png(16384, 16384, 8, 0)
    if kind == "empty":
        return b""
    if kind == "text":
        return b"Shopping list:\n- eggs\n- a picture of a cat\n"
    if kind == "html":
        return b"<!DOCTYPE html>\n<html><body><img src='cat.jpg'></body></html>\n"
    # Formats Pillow reads but we do not offer (the loader opens only PNG/JPEG/WebP/BMP/TIFF/GIF).
    if kind == "ppm":
        return _encoded(Image.new("RGB", (16, 16), RED), "PPM")
    if kind == "ico":
        return _encoded(Image.new("RGB", (16, 16), RED), "ICO")
    raise AssertionError(kind)


@pytest.mark.parametrize(("name", "kind", "problem"), BAD_IMAGES, ids=[k for _, k, _ in BAD_IMAGES])
def test_bad_image_exits_2_with_one_line_and_changes_nothing(
    tmp_path: Path, pairs_dir: Path, name: str, kind: str, problem: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(_make_bad(kind, pairs_dir))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    previous = out_dir / "morph.gif"
    previous.write_bytes(b"GIF89a previous export, must survive")
    before = snapshot(out_dir)

    code, err = run_cli(
        "render", bad, pairs_dir / "cat.png", "-o", previous, "--size", SIZE, "--frames", "3", "-q"
    )

    assert code == 2, err
    line = error_line(err)
    assert str(bad) in line and problem in line, line
    assert snapshot(out_dir) == before  # previous output byte-identical, no temp file left


def test_keyframe_path_with_a_nul_byte_in_a_project(tmp_path: Path, pairs_dir: Path) -> None:
    # Found by the project fuzzer: a NUL in a path made os.stat raise ValueError (a crash).
    project = {
        "format": "morphapp.project", "version": 1, "model": None,
        "keyframes": [{"type": "image", "path": str(pairs_dir / "cat.png")},
                      {"type": "image", "path": "a\u0000.png"}],
        "settings": {"size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
                     "loop": "none", "fps": 24, "seed": 0, "segments": [{"steps": 3, "ease": "linear"}]},
    }  # fmt: skip
    path = tmp_path / "p.json"
    path.write_text(json.dumps(project))
    code, err = run_cli("render", path, "-o", tmp_path / "out.gif", "-q")
    assert code == 2
    assert "keyframes[1].path must be a file name" in error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


# --------------------------------------------------------------------------- odd but valid


def _odd_but_valid(folder: Path) -> list[tuple[str, dict[str, object]]]:
    """Write every odd-but-valid keyframe; return (file name, expectations) in render order."""
    cases: list[tuple[str, dict[str, object]]] = []

    def add(name: str, data: bytes, **expect: object) -> None:
        (folder / name).write_bytes(data)
        cases.append((name, expect))

    displayed = _quadrants()
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = Image.fromarray(_stored_for_orientation(displayed, orientation))
        add(f"orient{orientation}.jpg", _encoded(stored, "JPEG", exif=exif, quality=95), quadrants=True)
    anim = [Image.new("RGB", (40, 30), c) for c in (RED, GREEN, BLUE)]
    add("anim.gif", _encoded(anim[0], "GIF", save_all=True, append_images=anim[1:], duration=80),
        color=RED, note="animated GIF: using the first of 3 frames")  # fmt: skip
    add("anim.webp", _encoded(anim[2], "WEBP", save_all=True, append_images=anim[:2], lossless=True),
        color=BLUE, note="animated WebP: using the first of 3 frames")  # fmt: skip
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red ink
    add("cmyk_adobe.jpg", _encoded(cmyk, "JPEG", quality=95), color=RED, note="CMYK")  # Photoshop: inverted
    add("cmyk_plain.jpg", _strip_adobe_marker(_encoded(cmyk, "JPEG", quality=95)), color=RED, note="CMYK")
    grey16 = Image.frombytes("I;16", (24, 24), np.full((24, 24), 32768, "<u2").tobytes())
    add("grey16.png", _encoded(grey16, "PNG"), color=(128, 128, 128), note="16-bit PNG converted to 8-bit")
    rgb16 = np.zeros((24, 24, 3), dtype=">u2")
    rgb16[...] = (65535, 0, 0)
    rows = b"".join(b"\x00" + rgb16[y].tobytes() for y in range(24))
    add("rgb16.png", _png(24, 24, 16, 2, rows), color=RED, note="16-bit PNG converted to 8-bit")
    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    add("palette_trns.png", _encoded(palette, "PNG", transparency=1), color=WHITE, note="alpha composited")
    la = Image.new("LA", (32, 32), (0, 0))  # black, fully transparent: the white background shows
    add("grey_alpha.png", _encoded(la, "PNG"), color=WHITE, note="alpha composited on white")
    rgba = Image.new("RGBA", (32, 32), (0, 0, 255, 255))
    add("rgba.png", _encoded(rgba, "PNG"), color=BLUE)
    add("one_pixel.png", _encoded(Image.new("RGB", (1, 1), GREEN), "PNG"), color=GREEN)
    add("very_thin.png", _encoded(Image.new("RGB", (10000, 10), BLUE), "PNG"), color=BLUE)
    add("odd_size.png", _encoded(Image.new("RGB", (33, 17), RED), "PNG"), color=RED)
    add("damaged_exif.jpg", _damaged_exif_jpeg(), color=RED)
    return cases


def _nearest(color: np.ndarray, palette: tuple[tuple[int, int, int], ...]) -> tuple[int, int, int]:
    return min(palette, key=lambda c: float(np.abs(color - np.array(c)).sum()))


def test_odd_but_valid_images_render_with_notes(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    cases = _odd_but_valid(inputs)
    out = tmp_path / "frames"
    # One frame per keyframe (--segment-frames 1): frame i is exactly keyframe i, decoded.
    # 60x60 is not a multiple of 8 either: it becomes 64x64, with a note.
    code, err = run_cli("render", *(inputs / n for n, _ in cases), "-o", out, "--size", "60x60",
                        "--segment-frames", "1", "--batch", "4")  # fmt: skip
    assert code == 0, err
    lines = err.splitlines()
    assert all(line.startswith("note: ") for line in lines), err  # no warnings, no tracebacks
    assert "note: size 60x60 rounded to 64x64 (the model works in 8-pixel blocks)" in lines
    frames = sorted(out.glob("frame_*.png"))
    assert len(frames) == len(cases)
    wrong: list[str] = []
    for (name, expect), path in zip(cases, frames, strict=True):
        pixels = np.asarray(Image.open(path).convert("RGB")).astype(float)
        assert pixels.shape == (64, 64, 3), name
        if "note" in expect:
            assert any(
                line.startswith(f"note: {name}: ") and str(expect["note"]) in line for line in lines
            ), name
        if "color" in expect:
            centre = pixels[16:48, 16:48].reshape(-1, 3).mean(axis=0)
            if np.abs(centre - np.array(expect["color"])).max() > 40:  # TAEF2 round trip, 64x64
                wrong.append(f"{name}: centre {centre.round()} expected {expect['color']}")
        if expect.get("quadrants"):
            seen = [
                _nearest(pixels[rows, cols].reshape(-1, 3).mean(axis=0), QUADRANTS)
                for rows in (slice(6, 26), slice(38, 58))
                for cols in (slice(6, 26), slice(38, 58))
            ]
            if tuple(seen) != QUADRANTS:
                wrong.append(f"{name}: quadrants {seen}")
    assert not wrong, wrong


def test_bomb_in_a_real_process_prints_exactly_one_line(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    # Pillow warns about a bomb before refusing it; no warning may reach a real user's terminal.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_make_bad("bomb", pairs_dir))
    result = run_cli_subprocess("render", pairs_dir / "cat.png", bomb, "-o", tmp_path / "out.mp4",
                                "--size", SIZE, "-q", cwd=tmp_path, env=cli_env(model_path_env))  # fmt: skip
    assert result.returncode == 2
    assert "16384x16384 pixels is over the 256-megapixel limit" in error_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png"]
