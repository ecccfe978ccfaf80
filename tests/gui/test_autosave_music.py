"""A crashed session's autosave comes back with the project's music (issue 23: recovery dropped it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from morphapp.core.domain.project import ProjectAudio, load_project
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.gui.autosave import Autosave
from morphapp.gui.document import Document
from tests.music.tracks import click_track


def _dead_pid() -> int:
    """The id of a process that has exited (what a crash leaves in the session lock)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_recovered_autosave_keeps_the_music(qtbot, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    track = tmp_path / "music" / "clicks.wav"
    track.parent.mkdir()
    click_track(track, 120, seconds=3.0)
    before = Document()
    before.add_keyframes([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    before.set_audio(ProjectAudio(track, None, 0.0))
    before.snap_to_beats([0.5, 1.0, 1.5, 2.0])  # the music's start moves to the first beat: 0.5 s
    assert before.audio is not None and before.audio.start == 0.5

    # The session autosaves, then dies: the autosave and a lock of a dead process stay behind.
    session = Autosave(tmp_path / "autosave")
    session.start_session()
    session.save(before.project_for_saving())
    session.lock.write_text(str(_dead_pid()))

    recovered = Autosave(tmp_path / "autosave").start_session()  # the next start finds them
    assert recovered is not None
    after = Document()
    after.restore(recovered)
    assert after.audio is not None
    assert (after.audio.path, after.audio.start) == (track, 0.5)
    assert after.audio.sha256 == file_sha256(track)
    assert after.dirty  # recovered work is unsaved until the artist saves it

    # Saved from the recovered document, the project still has its music.
    after.save(tmp_path / "recovered.json")
    audio = load_project(tmp_path / "recovered.json").audio
    assert audio is not None and (audio.path, audio.start) == (track, 0.5)
