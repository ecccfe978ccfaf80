"""Issue 24: one clear notion of frames: the whole morph's and one segment's have distinct names,
and their tooltips say how they add up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from morphapp.gui.main_window import MainWindow


def _label(field: QWidget) -> QLabel:
    layout = field.parentWidget().layout()
    assert isinstance(layout, QFormLayout)
    label = layout.labelForField(field)
    assert isinstance(label, QLabel)
    return label


def test_total_frames_and_frames_in_segment_read_apart(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    panel = window.settings_panel
    total, segment = _label(panel.frames), _label(panel.segment_frames)
    assert total.text() == "Total frames" and segment.text() == "Frames in segment"
    assert total.text().strip() != segment.text().strip()
    assert "Frames" not in (total.text().strip(), segment.text().strip())
    # Each says how it relates to the other, and that the rests add on top.
    assert "Frames in segment" in panel.frames.toolTip() and "Hold" in panel.frames.toolTip()
    assert "Total frames" in panel.segment_frames.toolTip() and "Hold" in panel.segment_frames.toolTip()
    assert total.toolTip() == panel.frames.toolTip() and segment.toolTip() == panel.segment_frames.toolTip()
    assert "Total frames" in panel.hold.toolTip()


def test_no_two_fields_of_the_panel_share_a_name(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    names = [
        item.widget().text().strip()
        for form in window.settings_panel.findChildren(QFormLayout)
        for row in range(form.rowCount())
        if (item := form.itemAt(row, QFormLayout.ItemRole.LabelRole)) is not None
        and isinstance(item.widget(), QLabel)
    ]
    assert "Total frames" in names and len(names) == len(set(names)), names
