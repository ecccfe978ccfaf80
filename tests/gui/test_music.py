"""Music in the window: add a track, waveform and beats, snap keyframes to beats, seek, playback."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from morphapp.core.domain.project import load_project
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.main_window import MainWindow
from morphapp.music.analysis import PEAKS_PER_SECOND, analyse_music
from tests.music.tracks import click_track

TIMEOUT = 120_000  # the first beat tracking in a fresh environment compiles librosa's kernels (~30 s)


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("music") / "clicks120.wav"
    return path, click_track(path, 120, seconds=8.0, first=0.5)


def test_analysis_has_the_envelope_and_the_beats(track: tuple[Path, np.ndarray]) -> None:
    path, clicks = track
    music = analyse_music(path)
    assert music.duration == pytest.approx(8.0, abs=0.01)
    assert abs(len(music.peaks) - 8 * PEAKS_PER_SECOND) <= 1
    assert music.tempo == pytest.approx(120, rel=0.05)
    assert all(np.min(np.abs(clicks - b)) < 0.03 for b in music.beats)
    # loud at a click, silent between two
    columns = music.peaks_between(0.0, 8.0, 800)  # 10 ms per column
    assert columns[50] > 0.5 and columns[75] == 0.0
    assert music.peaks_between(8.0, 9.0, 10).max() == 0.0  # past the end of the track


def _wait_analysed(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.music_panel.strip.analysis is not None, timeout=TIMEOUT)


def test_add_music_snap_to_beats_undo_and_save(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, track: tuple[Path, np.ndarray]
) -> None:
    path, _ = track
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png", pairs_dir / "lion.png"])
    assert not window.music_panel.isVisible()
    assert window.music.add_music(path)
    assert window.music_panel.isVisible() and "analysing" in window.music_panel.info.text()
    _wait_analysed(qtbot, window)
    music = window.music_panel.strip.analysis
    assert music is not None and music.tempo == pytest.approx(120, rel=0.05)
    info = window.music_panel.info.text()
    # without QtMultimedia's libpulse (a bare Linux) the frames play silently and the label says so
    note = " · no audio playback (see tooltip)" if window.music.player.unavailable else ""
    assert info == f"clicks120.wav · 8.0 s · {music.tempo:.0f} BPM · {len(music.beats)} beats{note}"
    assert window.music_panel.snap_button.isEnabled()
    before = window.document.settings.segments
    window.music_panel.per_keyframe.setValue(4)
    window.music_panel.snap_button.click()
    assert "Keyframes on beats 1, 5, 9" in window.statusBar().currentMessage()
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    beats = window.music_panel.strip.analysis.beats  # type: ignore[union-attr]
    # keyframe k sits on beat 4k: 2 s apart at 120 BPM = 48 frames at 24 fps
    assert [s.steps for s in window.document.settings.segments] == [48, 48]  # type: ignore[union-attr]
    assert window.document.audio.start == pytest.approx(beats[0])  # type: ignore[union-attr]
    strip = window.music_panel.strip
    assert strip.keyframe_frames == [0, 48, 96] and strip.keyframes_on_beats() == [True, True, True]
    window.document.undo_stack.undo()  # one step: the timing and the music's start together
    assert window.document.settings.segments == before and window.document.audio.start == 0.0  # type: ignore[union-attr]
    window.document.undo_stack.redo()
    target = tmp_path / "music.json"
    assert window.save_to(target)
    saved = load_project(target).audio
    assert saved is not None and saved.path == path and saved.start == pytest.approx(beats[0])
    assert saved.sha256 is not None and len(saved.sha256) == 64


def test_strip_click_seeks_and_playback_follows(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, track: tuple[Path, np.ndarray]
) -> None:
    path, _ = track
    window.document.set_settings("test", segments=(SegmentSpec(24),))
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert window.music.add_music(path)
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    strip = window.music_panel.strip
    assert strip.total == 25
    assert strip.playhead == window.preview_panel.current == 12  # a fresh morph opens on its midpoint
    at = QPoint(strip.width() * 3 // 4, strip.height() // 2)
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=at)
    assert window.preview_panel.current == 18 and strip.playhead == 18
    player = window.music.player
    if player.unavailable:
        assert "no audio playback" in window.music_panel.info.toolTip()
        pytest.skip(player.unavailable)
    assert player.player is not None
    assert player.player.position() == player.position_for(18, 24.0) == 750  # paused: seeks with the playhead
    window.preview_panel.set_playing(True)
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)
    window.preview_panel.set_playing(False)
    assert not player.playing


def test_music_reactive_spacing_from_the_window(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:
    # faint ticks for 2 s, then loud bursts 16 times a second: the second half should move faster
    rng = np.random.default_rng(0)
    rate, seconds = 22_050, 4.0
    samples = rng.standard_normal(int(seconds * rate)) * 0.005
    for start in range(int(2.0 * rate), len(samples) - 800, rate // 16):
        samples[start : start + 400] += rng.standard_normal(400) * 0.6
    path = tmp_path / "busy.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    window.document.set_settings("test", segments=(SegmentSpec(96),))
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert window.music.add_music(path)
    _wait_analysed(qtbot, window)
    assert window.music_panel.reactive_button.isEnabled()
    window.music_panel.reactive_button.click()
    assert "largest frame step" in window.statusBar().currentMessage()
    (segment,) = window.document.settings.segments  # type: ignore[misc]
    assert segment.steps == 96 and segment.ease.startswith("points(0,")
    values = [float(v) for v in segment.ease.removeprefix("points(").rstrip(")").split(",")]
    steps = np.diff(values)
    assert len(values) == 97 and steps[60:90].mean() > 1.5 * steps[5:40].mean()
    assert window.settings_panel.segment_ease.currentText() == "music-reactive"
    window.document.undo_stack.undo()
    assert window.document.settings.segments[0].ease == "linear"  # type: ignore[index]


def test_a_file_that_is_not_music_is_refused(window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "song.mp3"
    fake.write_bytes(b"not music at all" * 100)
    assert not window.music.add_music(fake)
    assert "song.mp3: not an audio file FFmpeg can read" in window.error_bar.text
    assert window.document.audio is None and not window.music_panel.isVisible()


def test_without_qtmultimedia_the_frames_play_silently_and_the_strip_says_why(  # type: ignore[no-untyped-def]
    qtbot,
    window: MainWindow,
    pairs_dir: Path,
    track: tuple[Path, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from morphapp.gui import music_player

    # What _multimedia() answers where PySide6-Addons or libpulse is missing (a bare Linux, a bundle)
    monkeypatch.setattr(music_player, "_loaded", "no audio playback (No module named 'PySide6.QtMultimedia')")
    window.document.set_settings("test", segments=(SegmentSpec(8),))
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert window.music.add_music(track[0])
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    _wait_analysed(qtbot, window)
    assert window.music.player.player is None
    assert "no audio playback (see tooltip)" in window.music_panel.info.text()
    assert "PySide6.QtMultimedia" in window.music_panel.info.toolTip()
    start = window.preview_panel.current
    window.preview_panel.set_playing(True)
    qtbot.waitUntil(lambda: window.preview_panel.current != start, timeout=5000)  # the frames still play
    window.preview_panel.set_playing(False)
    assert not window.music.player.playing


def test_music_changed_and_added_again_is_analysed_again(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "song.wav"
    click_track(path, 120, seconds=4.0)
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert window.music.add_music(path)
    _wait_analysed(qtbot, window)
    assert window.music_panel.strip.analysis.duration == pytest.approx(4.0, abs=0.01)  # type: ignore[union-attr]
    window.document.set_audio(None)
    click_track(path, 100, seconds=8.0)  # the same file, new music
    assert window.music.add_music(path)
    _wait_analysed(qtbot, window)
    assert window.music_panel.strip.analysis.duration == pytest.approx(8.0, abs=0.01)  # type: ignore[union-attr]


def test_a_track_shorter_than_the_morph_plays_again_when_the_preview_loops(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "short.wav"
    click_track(path, 120, seconds=1.0, first=0.1)
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert window.music.add_music(path)
    player = window.music.player
    if player.unavailable or player.player is None:
        pytest.skip(player.unavailable or "no player")
    player.play(20, 24.0)  # 0.83 s: near the end of the 1 s track
    qtbot.waitUntil(lambda: not player.playing, timeout=10_000)  # it ran out
    player.follow(0, 24.0, playing=True)  # the preview looped to frame 0 while playing
    qtbot.waitUntil(lambda: player.playing, timeout=5000)
    player.pause()
