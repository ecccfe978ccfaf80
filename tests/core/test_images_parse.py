"""parse_size and parse_color (imaging.sizes) and file_sha256 (imaging.file_hash)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.imaging.load import MAX_SIDE, parse_color, parse_size
from morphapp.core.imaging.sizes import MIN_SIDE
from morphapp.errors import InputError

# --------------------------------------------------------------------------- parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512x512", (512, 512)),
        ("768X432", (768, 432)),
        ("640", (640, 640)),
        (" 1024 x 576 ", (1024, 576)),
        ("512×256", (512, 256)),
        ("8192", (8192, 8192)),
    ],
)
def test_parse_size_exact_sizes_have_no_note(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text) == (expected, None)


def test_parse_size_rounds_half_up_with_a_note() -> None:
    size, note = parse_size("500x300")
    assert size == (504, 304)  # banker's rounding would give 496x304
    assert note == "size 500x300 rounded to 504x304 (the model works in 8-pixel blocks)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("33x35", (32, 32)), ("36", (40, 40)), ("37x44", (40, 48)), ("8189", (8192, 8192))],
)
def test_parse_size_rounds_small_and_edge_values(text: str, expected: tuple[int, int]) -> None:
    size, note = parse_size(text)
    assert size == expected
    assert note is not None and "rounded to" in note


@pytest.mark.parametrize("text", ["", "abc", "512x", "x512", "512x512x3", "12.5", "512,512", "0x"])
def test_parse_size_rejects_malformed_text_with_the_expected_form(text: str) -> None:
    with pytest.raises(InputError, match="WIDTHxHEIGHT like 512x512"):
        parse_size(text)


@pytest.mark.parametrize("text", ["0", "0x512", "512x0", "-8x8", "-512"])
def test_parse_size_rejects_non_positive_sides(text: str) -> None:
    with pytest.raises(InputError, match="at least 1 pixel"):
        parse_size(text)


@pytest.mark.parametrize("text", ["7x7", "16x16", "24x8", "8x512", "31", "512x31"])
def test_parse_size_refuses_sizes_too_small_to_show_a_morph(text: str) -> None:
    with pytest.raises(InputError, match=f"each side must be at least {MIN_SIDE} pixels"):
        parse_size(text)


@pytest.mark.parametrize("text", ["8193", "8200x512", "512x100000", "99999999999999999999"])
def test_parse_size_rejects_absurd_sizes(text: str) -> None:
    with pytest.raises(InputError, match=f"at most {MAX_SIDE} pixels"):
        parse_size(text)


@given(st.integers(MIN_SIDE, MAX_SIDE), st.integers(MIN_SIDE, MAX_SIDE), st.sampled_from(["x", "X", " x "]))
def test_parse_size_property(width: int, height: int, sep: str) -> None:
    (w, h), note = parse_size(f"{width}{sep}{height}")
    for got, want in ((w, width), (h, height)):
        assert got % 8 == 0
        assert 8 <= got <= MAX_SIDE
        assert abs(got - want) <= 4 or (want < 4 and got == 8)
    assert (note is None) == ((w, h) == (width, height))
    if note is not None:
        assert f"{width}x{height} rounded to {w}x{h}" in note


@given(st.text(max_size=20))
def test_parse_size_never_fails_with_anything_but_input_error(text: str) -> None:
    try:
        (w, h), _ = parse_size(text)
    except InputError as exc:
        assert repr(text) in str(exc)
    else:
        assert w % 8 == 0 and h % 8 == 0


# --------------------------------------------------------------------------- parse_color


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("white", (255, 255, 255)),
        ("Black", (0, 0, 0)),
        ("#ff8000", (255, 128, 0)),
        ("#F80", (255, 136, 0)),
        ("10, 20,30", (10, 20, 30)),
        ("255,0,0", (255, 0, 0)),
        ("gray", (128, 128, 128)),
        ("#336699ff", (51, 102, 153)),
    ],
)
def test_parse_color(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_color(text) == expected


@pytest.mark.parametrize("text", ["", "nope", "#12345", "256,0,0", "1,2", "1,2,3,4", "-1,0,0"])
def test_parse_color_rejects_bad_text(text: str) -> None:
    with pytest.raises(InputError, match=r"#rrggbb, or r,g,b"):
        parse_color(text)


def test_parse_color_rejects_transparent_colours() -> None:
    with pytest.raises(InputError, match="opaque"):
        parse_color("#ff000080")


# --------------------------------------------------------------------------- file_sha256


def test_file_sha256_streams_large_files(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 123)  # several 1 MiB chunks plus a partial one
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == hashlib.sha256(data).hexdigest()


def test_file_sha256_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()


def test_file_sha256_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.png: file not found"):
        file_sha256(tmp_path / "missing.png")
    with pytest.raises(InputError, match="is a folder"):
        file_sha256(tmp_path)
