"""Alignment and even pacing run on every new morph now (issue 22), so odd pictures meet them first:
tiny, one pixel tall, 16384 px wide, fully transparent, one flat colour, noise, a face cut by the
frame edge. Each renders (exit 0, every frame written, no traceback or Python warning) with notes
that say what alignment did."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.reliability.conftest import run_cli

RNG = np.random.default_rng(7)


def _face_cut(faces_dir: Path, path: Path) -> None:
    face = Image.open(faces_dir / "Musk.jpg").convert("RGB")
    width, height = face.size
    face.crop((width // 3, 0, width, height)).save(path)  # the left third of the face is off frame


MAKERS: dict[str, Callable[[Path], None]] = {
    "tiny": lambda p: Image.new("RGB", (1, 1), (200, 10, 10)).save(p),
    "one_px_tall": lambda p: Image.new("RGB", (300, 1), (10, 200, 10)).save(p),
    "wide": lambda p: Image.fromarray(RNG.integers(0, 255, (24, 16384, 3), dtype=np.uint8)).save(p),
    "transparent": lambda p: Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(p),
    "flat": lambda p: Image.new("RGB", (256, 256), (128, 128, 128)).save(p),
    "noise": lambda p: Image.fromarray(RNG.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(p),
}


@pytest.mark.parametrize("name", [*MAKERS, "face_cut"])
def test_odd_pictures_render_with_the_default_alignment(
    name: str, faces_dir: Path, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    odd = tmp_path / f"{name}.png"
    if name == "face_cut":
        _face_cut(faces_dir, odd)
    else:
        MAKERS[name](odd)
    out = tmp_path / "frames"
    portrait = faces_dir / "Biden.jpg"
    code, err = run_cli("render", odd, portrait, "-o", out, "--size", "128x128", "--frames", "4")
    assert code == 0, err
    assert "Traceback" not in err and "Warning" not in err, err
    assert len(list(out.glob("frame_*.png"))) == 4
    assert "segment 1: auto-align:" in err  # it ran, and said what it did ...
    words = next(line for line in err.splitlines() if line.startswith("note: segment 1:"))
    assert "dB" not in words, words  # ... first in words


@pytest.mark.parametrize("size", ["7x7", "16x16", "24x8", "8x512"])
def test_outputs_too_small_to_show_a_morph_are_refused_before_any_work(
    size: str, faces_dir: Path, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An 8 px frame crashed optical flow ("internal error") once alignment became the default; then
    rendered an 8x8 morph with exit 0 (issue 24): now a one-line refusal, exit 2, nothing written."""
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    out = tmp_path / "frames"
    keys = (faces_dir / "obama.jpg", faces_dir / "Biden.jpg")
    code, err = run_cli("render", *keys, "-o", out, "--size", size, "--frames", "3")
    assert code == 2 and not out.exists(), err
    assert f"size '{size}': each side must be at least 32 pixels" in err, err


def test_the_smallest_output_renders_and_says_it_is_too_small_to_align(
    faces_dir: Path, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from morphapp.core.align.auto import auto_align
    from morphapp.core.imaging.load import load_image

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    out = tmp_path / "frames"
    keys = (faces_dir / "obama.jpg", faces_dir / "Biden.jpg")
    code, err = run_cli("render", *keys, "-o", out, "--size", "32x40", "--frames", "3")
    assert code == 0, err
    assert len(list(out.glob("frame_*.png"))) == 3
    # Frames under 32 px (a project may hold any multiple of 8) are not aligned: flow needs more.
    a, b = (load_image(k, (24, 24)).pixels for k in keys)
    assert "too small to line up (under 32 px)" in auto_align(a, b).reason
