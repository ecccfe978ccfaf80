"""Issue 23: one saved project exports to the same bytes from the window and from the CLI.

Both faces run the one export loop (``morphapp.app.export_project``); before it, the window had a
loop of its own (no threaded writer, no frame count, the project's music note left out), so the
two could drift apart unnoticed. Each file of the two PNG sequences is compared byte for byte:
the frames and the sidecar ``morph.json``.
"""

from __future__ import annotations

from pathlib import Path

from morphapp.cli.main import main
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.export_dialog import PRESETS
from morphapp.gui.main_window import MainWindow

TIMEOUT = 180_000


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_saved_project_exports_the_same_png_bytes_from_the_window_and_the_cli(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "saved.json"
    settings = MorphSettings(size=(96, 64), segments=(SegmentSpec(5, "ease-in-out"),), hold=1, fps=12)
    save_project(
        Project((Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "lion.png")), settings), source
    )

    assert window.open_project(source)
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index("png"))
    from_window = tmp_path / "window-frames"
    dialog.destination.setText(str(from_window))
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()

    from_cli = tmp_path / "cli-frames"
    # The window runs torch fp32 here (the test's calibration verdict); the CLI is told the same.
    code = main(
        ["render", str(source), "-o", str(from_cli), "--backend", "torch", "--precision", "fp32", "-q"]
    )
    assert code == 0

    window_files, cli_files = _files(from_window), _files(from_cli)
    assert sorted(window_files) == sorted(cli_files)
    assert len([name for name in cli_files if name.endswith(".png")]) == 8  # 6 frames + a rest at each end
    different = [name for name in cli_files if window_files[name] != cli_files[name]]
    assert not different, different


def test_the_window_says_the_projects_music_changed_as_the_cli_does(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Found by review: the CLI noted a changed music file, the window exported in silence."""
    from morphapp.core.domain.project import ProjectAudio
    from morphapp.core.imaging.file_hash import file_sha256
    from tests.export.test_audio import tone

    music = tone(tmp_path / "song.wav", 2.0)
    recorded = ProjectAudio(music, file_sha256(music), 0.0)
    source = tmp_path / "with-music.json"
    keys = (Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png"))
    save_project(Project(keys, MorphSettings(size=(64, 48), frames=6), audio=recorded), source)
    tone(music, 1.5)  # the artist re-cut the song after saving
    assert window.open_project(source)
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index("mp4"))
    dialog.destination.setText(str(tmp_path / "out.mp4"))
    notes: list[str] = []
    window.engine.worker.export_note.connect(notes.append)
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    assert any("song.wav changed since the project was saved" in line for line in notes), notes
    # and the dialog still says so once the export is done ("Saved ..." used to replace the note)
    qtbot.waitUntil(lambda: "Saved" in dialog.message.text(), timeout=5000)
    assert "song.wav changed since the project was saved" in dialog.message.text()
