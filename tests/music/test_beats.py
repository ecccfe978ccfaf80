"""Beats (issue 17): detected within a frame on synthetic click tracks at 80-160 BPM, and every
keyframe of an --audio render lands on one."""

from __future__ import annotations

import contextlib
import io
import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from morphapp.cli.main import main
from morphapp.errors import InputError
from morphapp.music.beats import detect_beats, keyframes_on_beats
from tests.music.tracks import RATE, click_track

FRAME = 1 / 24  # one frame at 24 fps


@pytest.mark.parametrize("bpm", [80, 100, 120, 140, 160])
def test_beats_are_found_within_a_frame(tmp_path: Path, bpm: int) -> None:
    truth = click_track(tmp_path / "clicks.wav", bpm)
    beats, tempo = detect_beats(tmp_path / "clicks.wav")
    assert abs(tempo - bpm) < 0.05 * bpm
    assert all(np.min(np.abs(truth - b)) < FRAME for b in beats)  # no beat where there is no click
    found = [np.min(np.abs(beats - t)) < FRAME for t in truth]
    assert sum(found) >= len(truth) - 1  # the beat tracker may drop the track's first or last beat


def test_keyframes_on_beats_timing() -> None:
    beats = np.arange(0.5, 8.0, 0.5)  # 120 BPM from 0.5 s: 15 beats
    timing = keyframes_on_beats(beats, 3, 24.0, beats_per_keyframe=4)
    assert timing.beat_indices == (0, 4, 8) and timing.start == 0.5
    assert timing.frame_indices == (0, 48, 96) and timing.segment_frames == (48, 48)
    spread = keyframes_on_beats(beats, 3, 24.0)  # default: over the whole track
    assert spread.beat_indices == (0, 7, 14)
    with pytest.raises(InputError, match="too few for 3 keyframes 8 beats apart"):
        keyframes_on_beats(beats, 3, 24.0, beats_per_keyframe=8)


def test_cli_keyframes_land_on_beats_and_the_music_starts_at_the_first(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    click_track(tmp_path / "clicks.wav", 120, seconds=6.0)

    def render(out: Path) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main([
                "render", str(pairs_dir / "cat.png"), str(pairs_dir / "dog.png"), str(pairs_dir / "lion.png"),
                "-o", str(out), "--size", "32x32", "--audio", str(tmp_path / "clicks.wav"),
                "--beats-per-keyframe", "4", "--backend", "torch", "--precision", "fp32",
            ])  # fmt: skip
        return code, err.getvalue()

    code, text = render(tmp_path / "frames")
    assert code == 2 and "has no audio track" in text  # a PNG sequence carries no music
    video = tmp_path / "m.mp4"
    code, text = render(video)
    assert code == 0, text
    line = next(n for n in text.splitlines() if n.startswith("note: --audio clicks.wav:"))
    assert "keyframes on beats 1 (0.5" in line and "frame 48)" in line and "frame 96)" in line
    with av.open(str(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(video)) as container:
        audio = container.streams.audio[0]
        seconds = sum(f.samples for f in container.decode(audio)) / audio.codec_context.sample_rate
    assert frames == 97  # keyframes on frames 0, 48 and 96
    assert abs(seconds - 97 / 24) < 0.025
    metadata = json.loads(av.open(str(video)).metadata["comment"])
    assert [seg["steps"] for seg in metadata["settings"]["segments"]] == [48, 48]  # kept in the project


def test_a_saved_project_keeps_the_music_and_renders_it_again(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    click_track(tmp_path / "clicks.wav", 120, seconds=4.0)
    project = tmp_path / "p.json"
    first = tmp_path / "a.mp4"
    args = ["--size", "32x32", "--backend", "torch", "--precision", "fp32", "--quiet"]
    keys = [str(pairs_dir / "cat.png"), str(pairs_dir / "dog.png")]
    music = ["--audio", str(tmp_path / "clicks.wav"), "--save-project", str(project)]
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["render", *keys, "-o", str(first), *music, *args]) == 0
    doc = json.loads(project.read_text())
    assert doc["audio"]["path"] == "clicks.wav" and doc["audio"]["start"] == pytest.approx(0.5, abs=0.03)
    assert len(doc["audio"]["sha256"]) == 64
    again = tmp_path / "b.mp4"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["render", str(project), "-o", str(again), *args]) == 0
    for video in (first, again):
        with av.open(str(video)) as container:
            assert container.streams.audio, video  # the music comes back from the project
    assert _frame_count(first) == _frame_count(again)


def _frame_count(video: Path) -> int:
    with av.open(str(video)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_reactive_positions_step_with_the_loudness_and_keep_the_keyframes() -> None:
    from morphapp.music.beats import REACTIVE_MARGIN, reactive_positions

    times = np.arange(0, 10, 0.01)
    strength = np.where(times < 2.0, 1.0, 5.0)  # quiet for 2 s, then loud
    (first, second) = reactive_positions(times, strength, start=0.5, fps=10.0, segment_frames=(10, 20))
    assert len(first) == 11 and len(second) == 21
    assert first[0] == second[0] == 0.0 and first[-1] == second[-1] == 1.0
    assert (np.diff(first) > 0).all()
    steps = np.diff(first)  # segment 1: 0.5 s - 1.5 s of the music, all quiet: even steps
    assert np.allclose(steps, 0.1)
    steps = np.diff(second)  # 1.5 s - 3.5 s: quiet until 2 s (5 steps), then loud
    floor = REACTIVE_MARGIN * strength.mean()
    assert steps[6:].mean() / steps[:4].mean() == pytest.approx((5 + floor) / (1 + floor), rel=0.02)


def test_cli_audio_reactive_moves_faster_on_the_loud_half_and_keeps_the_beats(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    rng = np.random.default_rng(1)
    seconds = 6.0
    # A soft noise floor throughout; faint ticks on the beat in the first half, then loud bursts
    # 16 times a second: onset strength (log-spectral flux) low, then high.
    busy = rng.standard_normal(int(seconds * RATE)) * 0.005
    half = len(busy) // 2
    for start in range(0, half, RATE // 2):
        busy[start : start + 400] += rng.standard_normal(400) * 0.02
    for start in range(half, len(busy) - 800, RATE // 16):
        busy[start : start + 400] += rng.standard_normal(400) * 0.5
    with wave.open(str(tmp_path / "busy.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(busy, -1, 1) * 32767).astype(np.int16).tobytes())
    project = tmp_path / "p.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([
            "render", str(pairs_dir / "cat.png"), str(pairs_dir / "dog.png"), "-o", str(tmp_path / "m.mp4"),
            "--size", "32x32", "--audio", str(tmp_path / "busy.wav"), "--audio-reactive", "--frames", "121",
            "--save-project", str(project), "--backend", "torch", "--precision", "fp32",
        ])  # fmt: skip
    assert code == 0, err.getvalue()
    assert (
        "note: --audio-reactive: the in-between spacing follows the music's onset strength" in err.getvalue()
    )
    (segment,) = json.loads(project.read_text())["settings"]["segments"]
    values = [float(v) for v in segment["ease"].removeprefix("points(").removesuffix(")").split(",")]
    assert len(values) == segment["steps"] + 1 and values[0] == 0.0 and values[-1] == 1.0
    steps = np.diff(values)
    split = round(seconds / 2 * 24)  # --frames: the morph starts with the music; busy from 3 s on
    assert steps[split + 2 :].mean() > 1.5 * steps[: split - 2].mean()
    assert _frame_count(tmp_path / "m.mp4") == segment["steps"] + 1 == 121  # the keyframes stay put
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["render", str(pairs_dir / "cat.png"), str(pairs_dir / "dog.png"), "-o",
                     str(tmp_path / "x.mp4"), "--audio-reactive"]) == 2  # fmt: skip
