"""Presets as data, choosing a preset from a path, and frame timing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from morphapp.errors import OutputError
from morphapp.export import FORMATS, ExportFormat, format_for_path, open_writer
from morphapp.export.timing import fps_fraction, gif_delay_cs
from tests.export.helpers import read_video, synthetic_frames


def test_presets_describe_the_formats() -> None:
    videos = {"mp4", "mp4-444", "mp4-10bit", "hevc", "webm", "mov", "webp", "apng"}
    assert set(FORMATS) == {"gif", "gif-web", "png", *videos}
    assert (FORMATS["mov"].codec, FORMATS["mov"].pixel_format) == ("prores_ks", "yuv422p10le")
    assert (FORMATS["mp4"].codec, FORMATS["mp4"].pixel_format) == ("libx264", "yuv420p")
    assert FORMATS["mp4"].options["crf"] == "18"
    assert FORMATS["mp4"].container_options["movflags"] == "+faststart"
    assert (FORMATS["webm"].codec, FORMATS["webm"].pixel_format) == ("libvpx-vp9", "yuv420p")
    assert FORMATS["webm"].options["b"] == "0"
    assert FORMATS["gif"].extension == ".gif"
    assert FORMATS["png"].is_folder and not FORMATS["gif"].is_folder


def test_preset_options_are_read_only() -> None:
    with pytest.raises(TypeError):
        FORMATS["mp4"].options["crf"] = "30"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.gif", "gif"), ("a.GIF", "gif"), ("clip.mp4", "mp4"), ("x/y.webm", "webm"), ("frames", "png")],
)
def test_format_from_suffix(name: str, expected: str) -> None:
    assert format_for_path(Path(name)).name == expected


def test_existing_folder_means_png_sequence_even_with_a_dot(tmp_path: Path) -> None:
    folder = tmp_path / "renders.v2"
    folder.mkdir()
    assert format_for_path(folder).name == "png"


def test_explicit_format_wins_case_insensitively() -> None:
    assert format_for_path(Path("out.gif"), "MP4").name == "mp4"
    assert format_for_path(Path("out.gif"), "png").name == "png"


def test_unknown_explicit_format_lists_choices() -> None:
    with pytest.raises(OutputError) as info:
        format_for_path(Path("out.gif"), "avi")
    message = str(info.value)
    assert "'avi'" in message and all(name in message for name in ("gif", "mp4", "webm", "png"))


def test_unknown_suffix_names_suffix_and_choices() -> None:
    with pytest.raises(OutputError) as info:
        format_for_path(Path("out.avi"))
    message = str(info.value)
    assert "'.avi'" in message and ".gif" in message and ".mp4" in message and ".webm" in message


def test_a_new_preset_is_data_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mkv = ExportFormat(
        name="mkv",
        extension=".mkv",
        codec="libx264",
        pixel_format="yuv420p",
        options={"crf": "20", "preset": "ultrafast"},
        description="H.264 in Matroska",
        writer="video",
        container="matroska",
    )
    monkeypatch.setitem(FORMATS, "mkv", mkv)
    target = tmp_path / "out.mkv"
    assert format_for_path(target) is mkv
    with open_writer(target, fps=12) as writer:
        for frame in synthetic_frames(5):
            writer.write(frame)
    facts = read_video(target)
    assert facts["codec"] == "h264" and len(facts["frames"]) == 5


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (24, Fraction(24)),
        (29.97, Fraction(2997, 100)),
        (30000 / 1001, Fraction(30000, 1001)),
        (23.976, Fraction(2997, 125)),
        (12.5, Fraction(25, 2)),
    ],
)
def test_fps_fraction(fps: float, expected: Fraction) -> None:
    assert fps_fraction(fps) == expected


def test_gif_delays_at_24_fps_mix_40_and_50_ms() -> None:
    fps = Fraction(24)
    delays = [gif_delay_cs(i, fps) * 10 for i in range(24)]
    assert set(delays) == {40, 50}
    assert sum(delays) == 1000  # one second exactly after 24 frames


@given(
    fps=st.sampled_from([5, 8, 10, 12, 12.5, 15, 23.976, 24, 25, 29.97, 30, 30000 / 1001, 48, 50, 60, 100]),
    count=st.integers(min_value=1, max_value=600),
)
def test_gif_delays_never_drift(fps: float, count: int) -> None:
    exact = fps_fraction(fps)
    total_ms = sum(gif_delay_cs(i, exact) for i in range(count)) * 10
    assert abs(total_ms - count * 1000 / exact) <= 5
    assert all(gif_delay_cs(i, exact) >= 1 for i in range(count))


def test_missing_encoder_fails_at_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ExportFormat(
        name="nope", extension=".nope", codec="libnope", pixel_format="yuv420p", container="matroska"
    )
    monkeypatch.setitem(FORMATS, "nope", broken)
    with pytest.raises(OutputError, match="no libnope encoder"):
        open_writer(tmp_path / "out.nope", fps=24)
    assert list(tmp_path.iterdir()) == []
