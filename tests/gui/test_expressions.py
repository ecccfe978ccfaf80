"""Expression keyframes in the window: the editor, the strip's tile, the preview, projects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel

from morphapp.core.domain.keyframes import ExprKeyframe, ExprTerm, Keyframe
from morphapp.core.domain.project import load_project
from morphapp.gui.expression_dialog import ExpressionDialog
from morphapp.gui.main_window import MainWindow

TIMEOUT = 60_000


def test_editor_checks_as_you_type(qtbot, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = ExpressionDialog()
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    dialog.edit.setText(f"{pairs_dir / 'cat.png'} +")
    assert "at character" in dialog.message.text() and "a term is missing after '+'" in dialog.message.text()
    assert not dialog.ok_button.isEnabled() and dialog.keyframe is None
    dialog.edit.setText(f"{pairs_dir / 'cat.png'} - {pairs_dir / 'nothing.png'}")
    assert dialog.message.text() == "not found: nothing.png" and not dialog.ok_button.isEnabled()
    dialog.edit.setText("")
    dialog.add_terms([pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    dialog.edit.setText(dialog.edit.text().replace(" + ", " - 0.5*", 1) + f" + 0.5*{pairs_dir / 'cat.png'}")
    assert dialog.ok_button.isEnabled() and dialog.message.text() == "3 terms."
    assert [t.weight for t in dialog.keyframe.terms] == [1.0, -0.5, 0.5]  # type: ignore[union-attr]
    # one tile per term: its sign/weight, picture and file name
    captions = [w.text() for w in dialog.findChildren(QLabel) if w.text().endswith(".png")]
    assert captions == ["lion.png", "tiger.png", "cat.png"]
    pictures = [w for w in dialog.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert len(pictures) == 3
    dialog.edit.setText(f"{pairs_dir / 'cat.png'} - {pairs_dir / 'dog.png'}")
    assert "add up to 0" in dialog.message.text() and dialog.ok_button.isEnabled()  # allowed, explained


def _accept_with(text: str) -> None:
    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ExpressionDialog)
        dialog.edit.setText(text)
        dialog.accept()

    QTimer.singleShot(200, fill)


def test_add_edit_preview_and_save(qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert window.add_images([pairs_dir / "dog.png"])
    cat, dog, lion = (pairs_dir / n for n in ("cat.png", "dog.png", "lion.png"))
    _accept_with(f"{cat} - {dog} + {lion}")
    assert window.add_expression()
    keyframe = window.document.keyframes[1]
    assert isinstance(keyframe, ExprKeyframe) and len(keyframe.terms) == 3
    item = window.strip.item(1)
    assert item.text() == "2. expression" and item.toolTip().startswith(f"expr:{cat} - {dog}")
    tile = item.icon().pixmap(96, 96).toImage()
    background = "#2d3142"
    assert tile.pixelColor(24, 24).name() != background and tile.pixelColor(24, 70).name() != background
    assert tile.pixelColor(72, 72).name() == background  # three terms: the fourth cell is empty
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    last = window.preview.frames[window.preview.total - 1]
    first = window.preview.frames[0]
    assert last.width() == 96 and first != last
    # double-click edits it: one undo step
    _accept_with(f"0.5*{cat} + 0.5*{lion}")
    window.edit_keyframe(1)
    edited = window.document.keyframes[1]
    assert isinstance(edited, ExprKeyframe) and [t.weight for t in edited.terms] == [0.5, 0.5]
    window.document.undo_stack.undo()
    assert window.document.keyframes[1] == keyframe
    target = tmp_path / "expr.json"
    assert window.save_to(target)
    stored = load_project(target).keyframes[1]
    assert isinstance(stored, ExprKeyframe)
    assert [np.round(t.weight, 3) for t in stored.terms] == [1.0, -1.0, 1.0]


def test_editing_without_a_change_is_no_edit_and_an_edit_keeps_the_hashes(  # type: ignore[no-untyped-def]
    qtbot, pairs_dir: Path
) -> None:
    cat, dog = (Keyframe(pairs_dir / n, sha256=n * 4) for n in ("cat.png", "dog.png"))
    start = ExprKeyframe((ExprTerm(1 / 3, cat), ExprTerm(2 / 3, dog)))
    dialog = ExpressionDialog(start=start)
    qtbot.addWidget(dialog)
    assert dialog.keyframe is start  # OK on an untouched expression changes nothing
    dialog.edit.setText(dialog.edit.text().replace("0.6666666666666666*", "0.5*"))
    edited = dialog.keyframe
    assert edited is not None and edited is not start
    assert [t.weight for t in edited.terms] == [1 / 3, 0.5]
    assert [t.source.sha256 for t in edited.terms] == [cat.sha256, dog.sha256]  # type: ignore[union-attr]
