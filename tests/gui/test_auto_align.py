"""Auto-align in the face_window (issue 13): off the GUI thread, cancellable, on drop by default."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from morphapp.gui.main_window import MainWindow

if sys.platform == "darwin" and platform.machine() == "x86_64":  # pyproject: no ai-edge-litert there
    pytest.skip("Intel macOS has no ai-edge-litert wheel, so no face models", allow_module_level=True)
TIMEOUT = 60_000


def _ticks_while(qtbot, predicate) -> int:  # type: ignore[no-untyped-def]
    """Event-loop ticks (a 10 ms timer) counted until ``predicate`` holds: > 0 means not blocked."""
    ticks = [0]
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start()
    qtbot.waitUntil(predicate, timeout=TIMEOUT)
    timer.stop()
    return ticks[0]


def test_point_editor_auto_align_runs_in_the_background_and_fills_the_points(
    qtbot, face_window: MainWindow, faces_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    face_window.add_images([faces_dir / "obama.jpg", faces_dir / "Biden.jpg"])
    face_window.open_point_editor()
    editor = face_window.point_editor
    assert editor is not None
    editor.auto_button.click()
    assert editor.aligner.running and editor.auto_button.text() == "Cancel auto-align"  # returned at once
    ticks = _ticks_while(qtbot, lambda: not editor.aligner.running)
    assert ticks > 0
    points = face_window.document.settings.points
    assert points is not None and len(points[0]) >= 60, editor.status.text()
    status = editor.status.text()  # in words first, then the figures
    assert status.startswith("faces lined up") and "auto-align: faces" in status, status
    face_window.document.undo_stack.undo()  # an ordinary, undoable edit
    assert not face_window.document.settings.points


def test_cancelling_auto_align_stores_nothing(qtbot, face_window: MainWindow, faces_dir: Path) -> None:  # type: ignore[no-untyped-def]
    face_window.add_images([faces_dir / "Trump.jpg", faces_dir / "obama.jpg"])
    face_window.open_point_editor()
    editor = face_window.point_editor
    editor.auto_button.click()
    editor.auto_button.click()  # the same button cancels
    assert not editor.aligner.running and editor.status.text() == "Auto-align cancelled."
    qtbot.wait(3000)  # the worker finishes its pair meanwhile: its result must be dropped
    assert not face_window.document.settings.points and editor.auto_button.text() == "Auto-align"


def test_dropped_portraits_are_aligned_when_the_setting_is_on(
    qtbot, face_window: MainWindow, faces_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    face_window.auto_align_action.setChecked(True)
    face_window.add_images([faces_dir / "Musk.jpg", faces_dir / "Feifei.jpg"])
    qtbot.waitUntil(lambda: bool(face_window.document.settings.points), timeout=TIMEOUT)
    assert len(face_window.document.settings.points[0]) >= 40
    message = face_window.statusBar().currentMessage()  # in words; the figures in the tooltip (issue 24)
    assert message.startswith("faces lined up") and "dB" not in message, message
    assert "auto-align: faces" in face_window.statusBar().toolTip()
    face_window.auto_align_action.setChecked(False)
    face_window.document.undo_stack.undo()
    face_window.add_images([faces_dir / "Trump.jpg"])  # a third keyframe with the setting off: no points
    qtbot.wait(1000)
    assert not any(face_window.document.settings.points or ())


def test_the_point_editor_shows_the_face_mesh(qtbot, face_window: MainWindow, faces_dir: Path) -> None:  # type: ignore[no-untyped-def]
    face_window.add_images([faces_dir / "obama.jpg", faces_dir / "Biden.jpg"])
    face_window.open_point_editor()
    editor = face_window.point_editor
    assert editor.left.overlay == []
    editor.mesh_box.setChecked(True)
    assert len(editor.left.overlay) == 468 and len(editor.right.overlay) == 468
    xs = [x for x, _y in editor.left.overlay]
    assert 0.1 < min(xs) < max(xs) < 0.9  # on the face, in the image's own 0..1 coordinates
    editor.mesh_box.setChecked(False)
    assert editor.left.overlay == []


def test_the_point_editor_offers_an_installed_sd_model_for_semantic_points(  # type: ignore[no-untyped-def]
    qtbot, face_window: MainWindow, pairs_dir: Path, tiny_sd_dir: Path, model_path_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import os

    face_window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    face_window.open_point_editor()
    editor = face_window.point_editor
    assert editor is not None and not editor.features_from.isVisible()  # no SD model installed: no choice
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    editor.refresh_feature_models()
    assert editor.features_from.isVisible() and editor.features_from.count() == 2
    editor.features_from.setCurrentIndex(1)
    assert editor.features_from.currentText() == f"+ meaning: {tiny_sd_dir.name}"
    editor.auto_button.click()
    qtbot.waitUntil(lambda: not editor.aligner.running, timeout=TIMEOUT)
    # the tiny random UNet's features mean nothing: the guard says so, and the pixel paths decide
    assert "semantic features: no warp" in editor.status.text(), editor.status.text()


def test_the_words_stay_in_view_while_the_preview_renders(
    qtbot, face_window: MainWindow, faces_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """The message line is shared: "Rendering preview: N frames…" replaced the alignment's words a
    tenth of a second after they came (issue 22). A label of their own keeps them until the morph they
    describe changes."""
    face_window.auto_align_action.setChecked(True)
    face_window.add_images([faces_dir / "Musk.jpg", faces_dir / "Feifei.jpg"])
    label = face_window.align_status
    assert label.words == "Aligning the new keyframes…"
    qtbot.waitUntil(lambda: bool(face_window.document.settings.points), timeout=TIMEOUT)
    qtbot.waitUntil(face_window.preview.complete, timeout=TIMEOUT)  # long after the message line moved on
    assert not face_window.statusBar().currentMessage().startswith("faces lined up")
    assert label.words.startswith("faces lined up") and "dB" not in label.words, label.words
    assert label.text().startswith("faces lined up") and label.isVisible()  # shown, elided to fit
    assert "auto-align: faces" in label.toolTip()  # the figures
    face_window.document.undo_stack.undo()  # the points go: the words no longer describe the morph
    assert label.words == "" and label.text() == ""


def test_auto_align_that_fails_shows_why_and_changes_nothing(
    qtbot, window: MainWindow, faces_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An error in the job reaches the editor as no points at all (not None): it used to index them
    and raise IndexError in the slot."""
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes((faces_dir / "obama.jpg").read_bytes())
    second.write_bytes((faces_dir / "Biden.jpg").read_bytes())
    window.add_images([first, second])
    window.open_point_editor()
    editor = window.point_editor
    assert editor is not None
    second.write_bytes(b"not a picture any more")  # the job cannot read it
    editor.auto_button.click()
    qtbot.waitUntil(lambda: not editor.aligner.running, timeout=TIMEOUT)
    qtbot.wait(100)  # the slot runs
    assert editor.auto_button.text() == "Auto-align"
    assert "b.jpg" in editor.status.text(), editor.status.text()
    assert not window.document.settings.points
