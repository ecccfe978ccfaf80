"""Issue 24: one edit of a field is one undo step, and Ctrl+Z works while a field has focus."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from morphapp.gui.main_window import MainWindow


def _focus(qtbot, window: MainWindow, widget) -> None:  # type: ignore[no-untyped-def]
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=5_000)


def test_ten_notches_in_a_focused_field_are_one_undo_step(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    panel, stack = window.settings_panel, window.document.undo_stack
    start_frames, steps_before = panel.frames.value(), stack.count()
    _focus(qtbot, window, panel.frames)
    for _ in range(10):
        QTest.keyClick(panel.frames, Qt.Key.Key_Up)  # each arrow (or wheel notch) is a change
    assert panel.frames.value() == start_frames + 10
    assert stack.count() == steps_before + 1  # one step, not ten

    QTest.keyClick(panel.frames, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # still in the field
    assert panel.frames.value() == start_frames
    assert window.document.total_frames() == start_frames
    QTest.keyClick(
        panel.frames, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert panel.frames.value() == start_frames + 10


def test_a_second_visit_to_the_field_is_a_second_step(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    panel, stack = window.settings_panel, window.document.undo_stack
    steps_before = stack.count()
    _focus(qtbot, window, panel.hold)
    QTest.keyClick(panel.hold, Qt.Key.Key_Up)
    _focus(qtbot, window, panel.seed)  # focus leaves: the edit of Hold is over
    _focus(qtbot, window, panel.hold)
    QTest.keyClick(panel.hold, Qt.Key.Key_Up)
    QTest.keyClick(panel.hold, Qt.Key.Key_Up)
    assert stack.count() == steps_before + 2
    # Up and back down within one visit leaves no step at all.
    _focus(qtbot, window, panel.seed)
    QTest.keyClick(panel.seed, Qt.Key.Key_Up)
    QTest.keyClick(panel.seed, Qt.Key.Key_Down)
    assert stack.count() == steps_before + 2


def test_a_new_frame_rate_keeps_the_length_in_one_step(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    doc = window.document
    doc.set_total_frames(24)
    seconds = doc.total_frames() / doc.settings.fps
    steps_before = doc.undo_stack.count()
    doc.set_fps(doc.settings.fps * 2)
    assert doc.undo_stack.count() == steps_before + 1
    assert abs(doc.total_frames() / doc.settings.fps - seconds) < 1 / doc.settings.fps
    doc.undo_stack.undo()
    assert doc.total_frames() == 24


def test_a_new_morph_lasts_two_and_a_half_seconds_with_rests_on_its_keyframes(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: a new morph lasted 1.04 s and never rested on its keyframes."""
    from morphapp.core.render.frames import plan_for
    from morphapp.gui.document import Document

    doc = Document()
    doc.add_keyframes([tmp_path / "a.png", tmp_path / "b.png"])
    plan = plan_for(doc.settings, 2)
    assert 2.0 <= len(plan) / doc.settings.fps <= 3.0  # 61 frames at 24 fps
    assert [spec.keyframe for spec in plan[:7]] == [0] * 7 and [spec.keyframe for spec in plan[-7:]] == [
        1
    ] * 7
    assert doc.settings.pacing == "even"


def test_snapping_a_new_morph_to_beats_drops_its_rests_in_the_same_step(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The new morph's rests refused beat snapping ("set Hold keyframes to 0 first")."""
    from morphapp.core.domain.project import ProjectAudio
    from morphapp.gui.document import Document

    doc = Document()
    doc.add_keyframes([tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"])
    doc.set_audio(ProjectAudio(tmp_path / "song.wav", None, 0.0))
    assert doc.settings.hold == 6
    steps = doc.undo_stack.count()
    line = doc.snap_to_beats([0.5 * i for i in range(1, 20)], beats_per_keyframe=4)
    assert doc.settings.hold == 0 and "rests on the keyframes are off" in line
    assert doc.undo_stack.count() == steps + 1
    doc.undo_stack.undo()
    assert doc.settings.hold == 6
