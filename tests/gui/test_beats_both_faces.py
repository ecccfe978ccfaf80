"""Issue 23: keyframes on the music's beats are one rule (app/music.settings_on_beats) for both faces.

Before, the CLI's --audio stored frames per segment (and dropped the easings) while the window's
Snap to Beats stored segments: the same music gave two projects that differed in their fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from morphapp.cli.main import main
from morphapp.core.domain.project import ProjectAudio, project_to_dict
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.gui.document import Document
from morphapp.music.beats import detect_beats
from tests.music.tracks import click_track


def test_cli_audio_and_window_snap_store_the_same_timing(qtbot, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    track = tmp_path / "clicks.wav"
    click_track(track, 120, seconds=6.0)
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png", pairs_dir / "lion.png"]
    saved = tmp_path / "cli.json"
    code = main([
        "render", *map(str, keys), "-o", str(tmp_path / "m.mp4"), "--size", "32x32", "--audio", str(track),
        "--beats-per-keyframe", "4", "--save-project", str(saved),
        "--backend", "torch", "--precision", "fp32", "-q",
    ])  # fmt: skip
    assert code == 0
    from_cli = json.loads(saved.read_text())

    doc = Document()
    doc.add_keyframes(keys)
    doc.set_audio(ProjectAudio(track, file_sha256(track), 0.0))
    beats, _tempo = detect_beats(track)
    doc.snap_to_beats(beats, beats_per_keyframe=4)
    from_window = project_to_dict(doc.project(), tmp_path)

    timing = ("segments", "hold", "frames", "segment_frames", "loop")
    assert {k: from_window["settings"].get(k) for k in timing} == {
        k: from_cli["settings"].get(k) for k in timing
    }
    assert [s["steps"] for s in from_cli["settings"]["segments"]] == [48, 48]  # keyframes on beats 1, 5, 9
    assert doc.audio is not None and doc.audio.start == from_cli["audio"]["start"]  # the detected first beat
    assert abs(doc.audio.start - 0.5) < 0.02
