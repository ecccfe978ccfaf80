"""GIF output, read back from disk with Pillow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from morphapp.export import open_writer
from tests.export.helpers import load_rgb, psnr, read_gif, synthetic_frame, synthetic_frames


def test_held_frames_stay_separate_with_exact_durations(tmp_path: Path) -> None:
    a, b, c = synthetic_frame(0), synthetic_frame(5), synthetic_frame(10)
    sequence = [a, b, b, b, c, c]  # holds, as a morph that pauses on its keyframes
    target = tmp_path / "held.gif"
    with open_writer(target, fps=24) as writer:
        for frame in sequence:
            writer.write(frame)
    assert writer.frames_written == 6

    frames, durations, _ = read_gif(target)
    assert len(frames) == 6  # Pillow's own saver would merge these into 3 frames
    # 24 fps: frame k ends at round(k * 100 / 24) cs -> 40, 40, 50, 40, 40, 40 ms
    assert durations == [40, 40, 50, 40, 40, 40]
    # A held frame shows exactly the picture of the frame it repeats.
    np.testing.assert_array_equal(frames[2], frames[1])
    np.testing.assert_array_equal(frames[3], frames[1])
    np.testing.assert_array_equal(frames[5], frames[4])
    for decoded, source in zip(frames, sequence, strict=True):
        assert psnr(decoded, source) > 28


def test_cumulative_duration_is_exact(tmp_path: Path) -> None:
    target = tmp_path / "timing.gif"
    count = 30
    with open_writer(target, fps=24) as writer:
        for frame in synthetic_frames(count, 16, 12):
            writer.write(frame)
    _, durations, _ = read_gif(target)
    assert len(durations) == count
    assert set(durations) <= {40, 50}
    assert abs(sum(durations) - count * 1000 / 24) <= 5


@pytest.mark.parametrize(("loop", "stored"), [(0, 0), (1, None), (2, 1), (5, 4)])
def test_loop_count(tmp_path: Path, loop: int, stored: int | None) -> None:
    # loop=N plays N times in all; the NETSCAPE block stores repeats (N-1), none for N=1.
    target = tmp_path / f"loop{loop}.gif"
    with open_writer(target, fps=10, loop=loop) as writer:
        for frame in synthetic_frames(3, 16, 12):
            writer.write(frame)
    _, _, info = read_gif(target)
    assert info.get("loop") == stored


def test_photo_quality_and_metadata(tmp_path: Path, pairs_dir: Path) -> None:
    cat = load_rgb(pairs_dir / "cat.png")
    dog = load_rgb(pairs_dir / "dog.png", size=(cat.shape[1], cat.shape[0]))
    middle = ((cat.astype(np.uint16) + dog) // 2).astype(np.uint8)
    sources = [cat, middle, dog]
    metadata = {"prompt": "cat to dog", "seed": 7}
    target = tmp_path / "photo.gif"
    with open_writer(target, fps=8, metadata=metadata) as writer:
        for frame in sources:
            writer.write(frame)
    frames, durations, info = read_gif(target)
    assert len(frames) == 3 and durations == [130, 120, 130]
    quality = [psnr(decoded, source) for decoded, source in zip(frames, sources, strict=True)]
    assert min(quality) > 28, quality  # measured ~33 dB with per-frame palettes + dithering
    assert json.loads(info["comment"]) == metadata


def test_partial_changes_decode_correctly(tmp_path: Path) -> None:
    # Only the changed rectangle is encoded; the rest must still show the right picture.
    base = synthetic_frame(0)
    moved = base.copy()
    moved[5:15, 40:60] = (10, 200, 250)
    target = tmp_path / "partial.gif"
    with open_writer(target, fps=10) as writer:
        for frame in (base, moved, base):
            writer.write(frame)
    frames, _, _ = read_gif(target)
    assert len(frames) == 3
    for decoded, source in zip(frames, (base, moved, base), strict=True):
        assert psnr(decoded, source) > 28
    np.testing.assert_array_equal(frames[1][20:], frames[0][20:])  # untouched rows identical


def test_odd_sizes_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "odd.gif"
    with open_writer(target, fps=10) as writer:
        for frame in synthetic_frames(2, 33, 21):
            writer.write(frame)
    frames, _, _ = read_gif(target)
    assert frames[0].shape == (21, 33, 3)
