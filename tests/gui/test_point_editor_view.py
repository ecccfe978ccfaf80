"""Issue 24: the point editor stays legible with 60+ pairs (small markers, numbers on hover or
selection only, the pair highlighted on both sides), and zooms and pans for precise placement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from morphapp.gui.main_window import MainWindow
from morphapp.gui.point_canvas import PointCanvas
from morphapp.gui.point_editor import PointEditor

GRID = [(0.2 + 0.6 * (i % 8) / 7, 0.15 + 0.7 * (i // 8) / 7) for i in range(60)]  # 60 pairs, 8 per row


def _editor_with_60_pairs(qtbot, window: MainWindow, pairs_dir: Path) -> PointEditor:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    window.document.set_settings("points", points=(tuple((x, y, x, y + 0.02) for x, y in GRID),))
    window.open_point_editor()
    editor = window.point_editor
    assert editor is not None
    editor.resize(1000, 600)
    qtbot.waitExposed(editor)
    return editor


def _marked_share(canvas: PointCanvas) -> float:
    """The share of the image area that the markers cover: drawn with and without points."""
    points, current = canvas.points, canvas.current
    with_points = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    canvas.set_points([], None)
    bare = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    canvas.set_points(points, current)

    def pixels(image: QImage) -> np.ndarray:
        row = image.bytesPerLine()
        return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), row)[:, : image.width() * 3]

    rect = canvas.image_rect().toRect().intersected(canvas.rect())
    changed = (pixels(with_points) != pixels(bare))[
        rect.top() : rect.bottom(), rect.left() * 3 : rect.right() * 3
    ]
    return float(changed.mean())


def _hover(canvas: PointCanvas, x: float, y: float) -> None:
    """The pointer moved over the canvas with no button held (what mouse tracking delivers)."""
    at = canvas.to_widget(x, y)
    move = QMouseEvent(
        QEvent.Type.MouseMove, at, canvas.mapToGlobal(at), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(canvas, move)


def test_sixty_pairs_leave_the_picture_visible_and_unlabelled(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    editor = _editor_with_60_pairs(qtbot, window, pairs_dir)
    left, right = editor.left, editor.right
    assert len(left.points) == 60
    assert left.labelled() == set() and right.labelled() == set()  # no numbers until asked
    assert _marked_share(left) < 0.06  # 8-px numbered discs covered about a fifth of a 280-px canvas

    _hover(left, *GRID[17])
    assert left.labelled() == right.labelled() == {17}  # the pair under the pointer, on both sides
    _hover(left, 0.02, 0.98)  # away from every marker
    assert left.labelled() == right.labelled() == set()

    editor.select(5)
    assert left.labelled() == right.labelled() == {5}
    assert left.current == right.current == 5


def test_the_wheel_zooms_at_the_pointer_and_a_right_drag_pans(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    editor = _editor_with_60_pairs(qtbot, window, pairs_dir)
    canvas = editor.left
    pointer = canvas.to_widget(0.3, 0.6)
    before = canvas.image_rect()
    for _ in range(4):
        wheel = QWheelEvent(
            pointer, canvas.mapToGlobal(pointer), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(canvas, wheel)
    after = canvas.image_rect()
    assert after.width() / before.width() == 1.25**4  # four notches in
    x, y = canvas.to_image(pointer)
    assert abs(x - 0.3) < 0.002 and abs(y - 0.6) < 0.002  # the picture stays put under the pointer

    start = QPoint(200, 200)
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=start)
    qtbot.mouseMove(canvas, pos=start + QPoint(40, -25))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=start + QPoint(40, -25))
    moved = canvas.image_rect().topLeft() - after.topLeft()
    assert (round(moved.x()), round(moved.y())) == (40, -25)
    assert window.document.settings.points is not None and len(window.document.settings.points[0]) == 60

    # Zoomed in, a click places a point exactly where it lands on the picture.
    editor.clear_segment()
    target = canvas.to_widget(0.41, 0.52).toPoint()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=target)
    qtbot.mouseClick(editor.right, Qt.MouseButton.LeftButton, pos=editor.right.to_widget(0.5, 0.5).toPoint())
    ((xa, ya, _xb, _yb),) = window.document.settings.points[0]
    assert abs(xa - 0.41) < 0.003 and abs(ya - 0.52) < 0.003  # finer than one unzoomed pixel

    qtbot.mouseDClick(canvas, Qt.MouseButton.RightButton, pos=start)
    assert canvas.zoom == 1.0 and canvas.image_rect() == before
    assert QPointF(canvas.pan) == QPointF(0, 0)
