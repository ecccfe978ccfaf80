"""The app's icon, Help ▸ About (versions, device, bundled models' licences), files from the
command line, and the Linux desktop entry (packaging issue)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QSize, qVersion

from morphapp import __version__
from morphapp.gui.about import app_icon
from morphapp.gui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]


def test_the_icon_has_every_desktop_size(qtbot) -> None:  # type: ignore[no-untyped-def]
    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= {16, 32, 48, 256, 512}
    image = icon.pixmap(QSize(64, 64)).toImage()
    assert image.pixelColor(32, 32).alpha() == 255 and image.pixelColor(0, 0).alpha() == 0  # rounded


def test_about_names_versions_device_and_the_bundled_models_licences(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    about = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu().actions()
    assert [a.text() for a in about if not a.isSeparator()][-1] == "&About morphapp"  # the rest: test_help.py
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    text = dialog.summary.text()
    assert f"morphapp {__version__}" in text and f"PyTorch {torch.__version__}" in text
    assert f"Qt {qVersion()}" in text and "Device: " in text
    licences = dialog.licences.toPlainText()
    assert "TAEF2" in licences and "MIT License" in licences and "Ollin Boer Bohan" in licences
    assert "MediaPipe" in licences and "Apache License" in licences
    dialog.close()


def test_files_from_the_command_line_open(qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_paths([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert [k.path.name for k in window.document.keyframes] == ["cat.png", "dog.png"]
    project = tmp_path / "p.json"
    window.document.save(project)
    window.document.undo_stack.clear()
    window.new_project()
    assert window.open_paths([project]) and len(window.document.keyframes) == 2
    assert not window.open_paths([project, pairs_dir / "cat.png"])  # both: a clear message
    assert "one project, or images" in window.error_bar.text
    assert json.loads(project.read_text())["format"] == "morphapp.project"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_the_desktop_entry_is_valid() -> None:
    entry = REPO / "packaging" / "linux" / "morphapp.desktop"
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout
    assert "Exec=morphapp gui %F" in entry.read_text()


def test_a_project_s_music_survives_open_and_save_in_the_window(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from morphapp.core.domain.keyframes import Keyframe
    from morphapp.core.domain.project import Project, ProjectAudio, load_project, save_project
    from morphapp.core.domain.settings import MorphSettings

    music = tmp_path / "song.wav"
    music.write_bytes(b"RIFF....WAVE")  # only its path and hash matter here
    source = tmp_path / "with-music.json"
    keys = (Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png"))
    save_project(Project(keys, MorphSettings(), audio=ProjectAudio(music, None, 0.5)), source)
    assert window.open_project(source)
    window.document.save(tmp_path / "saved.json")
    kept = load_project(tmp_path / "saved.json").audio
    assert kept is not None and kept.path == music and kept.start == 0.5 and kept.sha256


def test_a_file_open_event_opens_the_project(qtbot, window, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """macOS hands a double-clicked project to the running app as a QFileOpenEvent."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QFileOpenEvent

    from morphapp.core.domain.keyframes import Keyframe
    from morphapp.core.domain.project import Project, save_project
    from morphapp.core.domain.settings import MorphSettings
    from morphapp.gui.file_open import FileOpenHandler

    target = tmp_path / "opened.json"
    pair = (Keyframe(pairs_dir / "lion.png"), Keyframe(pairs_dir / "tiger.png"))
    save_project(Project(pair, MorphSettings()), target)
    handler = FileOpenHandler(window)
    app = QCoreApplication.instance()
    app.installEventFilter(handler)
    try:
        QCoreApplication.sendEvent(app, QFileOpenEvent(str(target)))
        assert window.document.path == target and window.strip.item(1).text() == "2. tiger.png"
        QCoreApplication.sendEvent(app, QFileOpenEvent(str(pairs_dir / "cat.png")))  # an image joins
        assert window.strip.count() == 3 and window.strip.item(2).text() == "3. cat.png"
    finally:
        app.removeEventFilter(handler)
