"""The web GIF preset (issue 24): about 1 MB per second of a 480-px portrait morph, still areas still.

The frames are made from the real portraits in ../shared: a cross-dissolve at the pace of a 3-s,
72-frame morph at 24 fps (rendering 480x480 frames with the model takes minutes on a CPU; the
bench, bench/bench_gif.py, measures real morphs). Every test encodes its middle second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from morphapp.errors import OutputError
from morphapp.export import FORMATS, format_for_path, open_writer
from tests.export.helpers import load_rgb, psnr, read_gif

WEB = "gif-web"
SIDE, FPS, TOTAL = 480, 24, 72  # a 3-s morph
MIDDLE = range(24, 48)  # its middle second
MB_PER_SECOND = 1.0


def dissolve(first: Path, second: Path, indices: range = MIDDLE) -> list[np.ndarray]:
    a = load_rgb(first, size=(SIDE, SIDE)).astype(np.float32)
    b = load_rgb(second, size=(SIDE, SIDE)).astype(np.float32)
    return [np.round(a + (b - a) * (i / (TOTAL - 1))).astype(np.uint8) for i in indices]


def encode(frames: list[np.ndarray], target: Path, options: dict[str, str] | None = None) -> Path:
    with open_writer(target, fps=FPS, format=WEB, options=options) as writer:
        for frame in frames:
            writer.write(frame)
    return target


@pytest.mark.parametrize(("first", "second"), [("Biden.jpg", "Trump.jpg"), ("Musk.jpg", "Feifei.jpg")])
def test_web_preset_is_about_a_megabyte_per_second(
    faces_dir: Path, tmp_path: Path, first: str, second: str
) -> None:
    frames = dissolve(faces_dir / first, faces_dir / second)
    target = encode(frames, tmp_path / "web.gif")
    seconds = len(frames) / FPS
    megabytes = target.stat().st_size / 1e6
    # "gif" (256 colours per frame, Floyd-Steinberg) made 2.8 MB of Biden -> Trump's middle second.
    assert megabytes <= MB_PER_SECOND * seconds, megabytes
    decoded, durations, _ = read_gif(target)
    assert len(decoded) == len(frames) and sum(durations) == pytest.approx(1000 * seconds, abs=10)
    quality = [psnr(d, s) for d, s in zip(decoded, frames, strict=True)]
    assert min(quality) > 26, quality  # fewer colours, not a ruined picture


def test_web_preset_keeps_still_areas_identical(faces_dir: Path, tmp_path: Path) -> None:
    # A patch of Trump's flat, light backdrop stays put while everything around it morphs: its
    # pixels must not change from frame to frame (no crawling dither), although every frame's
    # changed rectangle covers it.
    rows, cols = slice(40, 160), slice(340, 460)
    still = load_rgb(faces_dir / "Trump.jpg", size=(SIDE, SIDE))[rows, cols]
    frames = dissolve(faces_dir / "Biden.jpg", faces_dir / "Trump.jpg")
    for frame in frames:
        frame[rows, cols] = still
    decoded, _, _ = read_gif(encode(frames, tmp_path / "still.gif"))
    for index, picture in enumerate(decoded[1:], start=1):
        changed = np.any(picture[rows, cols] != decoded[0][rows, cols], axis=2)
        assert not changed.any(), f"frame {index}: {changed.mean():.1%} of the still patch changed"
    assert psnr(decoded[-1][rows, cols], still) > 30


def test_last_and_held_frames_show_the_exact_picture(faces_dir: Path, tmp_path: Path) -> None:
    # The tolerance leaves slowly changing pixels up to 10 levels behind; a held frame and the
    # last frame are drawn in full, as the same preset without a tolerance draws them.
    frames = dissolve(faces_dir / "Musk.jpg", faces_dir / "Feifei.jpg", range(0, TOTAL, 4))
    frames = [*frames[:9], frames[8], frames[8], *frames[9:]]  # a hold on frame 8
    lagging, _, _ = read_gif(encode(frames, tmp_path / "web.gif"))
    exact, _, _ = read_gif(encode(frames, tmp_path / "exact.gif", {"tolerance": "0"}))
    assert not np.array_equal(lagging[7], exact[7])  # the tolerance is at work in between
    for index in (9, 10, len(frames) - 1):
        np.testing.assert_array_equal(lagging[index], exact[index])


def test_web_preset_is_a_gif_preset_and_gif_stays_the_default() -> None:
    assert format_for_path(Path("morph.gif")).name == "gif"
    web = FORMATS[WEB]
    assert (web.writer, web.extension) == ("gif", ".gif")
    assert web.options["palette"] == "global" and web.options["dither"] == "ordered"
    assert int(web.options["colors"]) <= 128


def test_tolerance_needs_one_palette(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="palette=global"):
        open_writer(tmp_path / "x.gif", fps=FPS, format=WEB, options={"palette": "per-frame"})
    with pytest.raises(OutputError, match="dither"):
        open_writer(tmp_path / "x.gif", fps=FPS, format=WEB, options={"dither": "random"})
