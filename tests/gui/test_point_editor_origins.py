"""Issue 24: the point editor tells automatic pairs from hand-placed ones (hollow rings, filled
dots), and Auto-align run again replaces only the automatic pairs: what the user placed or moved
stays, in one undo step, and survives saving the project."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, Qt

from morphapp.core.domain.point_merge import HAND_CLEARANCE
from morphapp.core.domain.point_origins import AUTO, HAND
from morphapp.gui.main_window import MainWindow
from morphapp.gui.point_canvas import PointCanvas, marker_colour
from morphapp.gui.point_editor import PointEditor

if sys.platform == "darwin" and platform.machine() == "x86_64":  # pyproject: no ai-edge-litert there
    pytest.skip("Intel macOS has no ai-edge-litert wheel, so no face models", allow_module_level=True)
TIMEOUT = 60_000


def _editor(qtbot, face_window: MainWindow, images: list[Path]) -> PointEditor:  # type: ignore[no-untyped-def]
    face_window.add_images(images)
    face_window.open_point_editor()
    editor = face_window.point_editor
    assert editor is not None
    editor.resize(1000, 600)
    qtbot.waitExposed(editor)
    return editor


def _auto_align(qtbot, editor: PointEditor) -> None:  # type: ignore[no-untyped-def]
    editor.auto_button.click()
    qtbot.waitUntil(lambda: not editor.aligner.running, timeout=TIMEOUT)


def _pixels(canvas: PointCanvas) -> np.ndarray:
    image = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)


def _near(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(np.hypot(a[0] - b[0], a[1] - b[1]), np.hypot(a[2] - b[2], a[3] - b[3])) < HAND_CLEARANCE


def test_hand_edits_survive_auto_align_run_again_on_a_portrait_pair(  # type: ignore[no-untyped-def]
    qtbot, face_window: MainWindow, faces_dir: Path, tmp_path: Path
) -> None:
    editor = _editor(qtbot, face_window, [faces_dir / "obama.jpg", faces_dir / "Biden.jpg"])
    doc = face_window.document
    _auto_align(qtbot, editor)
    first = list(doc.settings.points[0])  # type: ignore[index]
    assert len(first) >= 50, editor.status.text()
    assert editor.segment_origins() == [AUTO] * len(first) == editor.left.origins

    # Drag pair 6 on the left picture with the mouse: it becomes the user's.
    canvas = editor.left
    start = canvas.to_widget(first[5][0], first[5][1]).toPoint()
    end = start + QPoint(-9, 6)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, pos=end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    dragged = doc.settings.points[0][5]  # type: ignore[index]
    assert dragged[:2] == pytest.approx(canvas.to_image(end)) and dragged[2:] == first[5][2:]
    assert editor.segment_origins()[5] == HAND and editor.segment_origins().count(HAND) == 1
    # And a pair placed by hand in the picture's corner, away from the face.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(0.04, 0.05).toPoint())
    qtbot.mouseClick(
        editor.right, Qt.MouseButton.LeftButton, pos=editor.right.to_widget(0.05, 0.04).toPoint()
    )
    placed = doc.settings.points[0][-1]  # type: ignore[index]
    assert editor.segment_origins()[-1] == HAND
    before = (doc.settings.points, doc.settings.point_origins)
    steps = doc.undo_stack.count()

    _auto_align(qtbot, editor)
    points, origins = list(doc.settings.points[0]), editor.segment_origins()  # type: ignore[index]
    hand = [p for p, o in zip(points, origins, strict=True) if o == HAND]
    auto = [p for p, o in zip(points, origins, strict=True) if o == AUTO]
    assert hand == [dragged, placed]  # both kept, exactly where the user put them
    assert len(auto) >= len(first) - 4  # the automatic pairs found again ...
    assert not any(_near(p, h) for p in auto for h in hand)  # ... but none crowding a hand pair
    assert dragged not in first and first[5] not in points  # the pair the user moved is not back
    assert "Kept 2 pairs placed by hand" in editor.status.text(), editor.status.text()
    assert doc.undo_stack.count() == steps + 1  # one undo step, as before
    doc.undo_stack.undo()
    assert (doc.settings.points, doc.settings.point_origins) == before
    doc.undo_stack.redo()

    # The origins are saved with the project and come back with it.
    project = tmp_path / "portraits.json"
    doc.save(project)
    doc.load(project)
    assert doc.settings.points[0] == tuple(points)  # type: ignore[index]
    assert editor.segment_origins() == origins and editor.left.origins == origins


def test_automatic_and_hand_markers_look_different(qtbot, face_window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    editor = _editor(qtbot, face_window, [pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    auto_pair, hand_pair = (0.3, 0.4, 0.3, 0.4), (0.7, 0.6, 0.7, 0.6)
    face_window.document.set_settings(
        "points", points=((auto_pair, hand_pair),), point_origins=((AUTO, HAND),)
    )
    canvas = editor.left
    assert canvas.origins == [AUTO, HAND]
    drawn = _pixels(canvas)
    canvas.set_points([], None)
    bare = _pixels(canvas)
    editor.refresh()

    def at(pixels: np.ndarray, x: float, y: float, dx: int = 0) -> np.ndarray:
        centre = canvas.to_widget(x, y).toPoint()
        return pixels[centre.y(), centre.x() + dx]

    # An automatic pair is a hollow ring: the feature under its middle shows through ...
    assert np.abs(at(drawn, 0.3, 0.4) - at(bare, 0.3, 0.4)).max() <= 12
    assert np.abs(at(drawn, 0.3, 0.4, dx=3) - at(bare, 0.3, 0.4, dx=3)).max() > 40  # ... inside its ring
    # ... a hand pair a filled dot in its colour.
    colour = marker_colour(1)
    assert np.abs(at(drawn, 0.7, 0.6) - (colour.red(), colour.green(), colour.blue())).max() <= 12
    assert np.abs(at(drawn, 0.7, 0.6) - at(bare, 0.7, 0.6)).max() > 40

    # Words for the shapes: the legend, and the pair under the pointer says which kind it is.
    assert "placed by hand" in editor.legend.text() and "found by Auto-align" in editor.legend.text()
    canvas.set_hover(0)
    assert canvas.toolTip().startswith("Pair 1: found by Auto-align")
    canvas.set_hover(1)
    assert canvas.toolTip().startswith("Pair 2: placed by hand")
    assert canvas.labelled() == {1}  # numbers still only on hover / selection
    assert QColor(marker_colour(0)) != QColor(marker_colour(1))


def test_remove_automatic_points_keeps_the_hand_ones(qtbot, face_window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    editor = _editor(qtbot, face_window, [pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    pairs = tuple((0.1 + 0.1 * i, 0.5, 0.1 + 0.1 * i, 0.5) for i in range(5))
    origins = ((AUTO, HAND, AUTO, AUTO, HAND),)
    face_window.document.set_settings("points", points=(pairs,), point_origins=origins)
    assert editor.remove_auto_button.isEnabled()
    editor.remove_auto_button.click()
    assert face_window.document.settings.points == ((pairs[1], pairs[4]),)
    # All by hand: stored as before origins existed.
    assert face_window.document.settings.point_origins is None
    assert editor.left.origins == [HAND, HAND] and not editor.remove_auto_button.isEnabled()
    face_window.document.undo_stack.undo()
    assert face_window.document.settings.points == (pairs,)


def test_keyframes_aligned_on_drop_are_marked_automatic(  # type: ignore[no-untyped-def]
    qtbot, face_window: MainWindow, faces_dir: Path
) -> None:
    face_window.auto_align_action.setChecked(True)
    face_window.add_images([faces_dir / "Musk.jpg", faces_dir / "Feifei.jpg"])
    qtbot.waitUntil(lambda: bool(face_window.document.settings.points), timeout=TIMEOUT)
    points, origins = face_window.document.settings.points, face_window.document.settings.point_origins
    assert origins is not None and origins[0] == (AUTO,) * len(points[0])  # type: ignore[index]
