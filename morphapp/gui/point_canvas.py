"""One keyframe of the point editor: the picture with its numbered point markers, zoom and pan.

Automatic pairs are hollow rings, hand-placed ones filled dots; a pair's number shows only when it
is selected or pointed at, so 60+ pairs stay legible. Coordinates in and out are normalised to the
source image (0..1), as the engine and point files use them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QImageReader,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QWidget,
)

from morphapp.core.domain.point_origins import (
    AUTO,
    HAND,
    PointOrigin,
)

MARKER_RADIUS = 4  # small: 60+ auto-aligned pairs must not hide the eyes and mouth they mark
AUTO_RADIUS = 3.5  # an automatic pair's ring: hollow, so the feature it marks shows through
SELECTED_RADIUS = 7
GRAB_DISTANCE = 9  # pixels: a press this close to a marker drags it
ZOOM_STEP = 1.25  # per wheel notch
MAX_ZOOM = 12.0


def marker_colour(index: int) -> QColor:
    return QColor.fromHsv((index * 47) % 360, 220, 255)


ORIGIN_WORDS = {
    AUTO: "found by Auto-align (drag it to make it yours)",
    HAND: "placed by hand (kept when Auto-align runs again)",
}
LEGEND = "●  placed by hand, kept when Auto-align runs again      ○  found by Auto-align"


class PointCanvas(QWidget):
    """One keyframe image with point markers; click empty space to place, drag a marker to move.

    Markers are small dots; a pair's number shows only on the selected pair and the one under the
    pointer (on both sides), so 60 pairs stay legible. The wheel zooms at the pointer, a middle- or
    right-button drag pans, a double click with either resets the view. Automatic pairs are hollow
    rings, hand-placed ones filled dots (``origins``, one per point)."""

    clicked = Signal(float, float)  # normalised position of a click away from markers
    moved = Signal(int, float, float)  # marker index and its new normalised position
    selected = Signal(int)
    hovered = Signal(int)  # marker index under the pointer, -1 for none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(280, 280)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMouseTracking(True)  # hover labels
        self.image = QImage()
        self.points: list[tuple[float, float] | None] = []
        self.origins: list[PointOrigin] = []
        self.overlay: list[tuple[float, float]] = []
        self.current: int | None = None
        self.hover: int | None = None
        self.zoom = 1.0
        self.pan = QPointF(0.0, 0.0)  # widget pixels the zoomed image is shifted by
        self._drag: int | None = None
        self._panning: QPointF | None = None

    def set_image(self, path: str) -> None:
        reader = QImageReader(path)
        reader.setAutoTransform(True)  # EXIF orientation, as the engine applies it
        self.image = reader.read()
        self.reset_view()

    def reset_view(self) -> None:
        self.zoom, self.pan = 1.0, QPointF(0.0, 0.0)
        self.update()

    def set_overlay(self, points: list[tuple[float, float]]) -> None:
        """Dots under the markers (the detected face mesh), normalised image coordinates."""
        self.overlay = points
        self.update()

    def set_points(
        self, points: list[tuple[float, float] | None], current: int | None,
        origins: list[PointOrigin] | None = None,
    ) -> None:  # fmt: skip
        """``origins``: one per point; None: every point by hand."""
        self.points = points
        self.origins = list(origins) if origins is not None else [HAND] * len(points)
        self.current = current
        self.update()

    def origin(self, index: int) -> PointOrigin:
        return self.origins[index] if 0 <= index < len(self.origins) else HAND

    def set_hover(self, index: int | None) -> None:
        if index != self.hover:
            self.hover = index
            # Which kind the pair under the pointer is, in words (the legend says the shapes).
            words = ""
            if index is not None and 0 <= index < len(self.points) and self.points[index] is not None:
                words = f"Pair {index + 1}: {ORIGIN_WORDS[self.origin(index)]}"
            self.setToolTip(words)
            self.update()

    def labelled(self) -> set[int]:
        """The markers whose number is drawn: the selected pair and the one under the pointer."""
        return {i for i in (self.current, self.hover) if i is not None and 0 <= i < len(self.points)}

    def fitted_rect(self) -> QRectF:
        """The whole image fitted into the widget, before zoom and pan."""
        if self.image.isNull():
            return QRectF(self.rect())
        size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        return QRectF(x, y, size.width(), size.height())

    def image_rect(self) -> QRectF:
        fitted = self.fitted_rect()
        centre = fitted.center()
        width, height = fitted.width() * self.zoom, fitted.height() * self.zoom
        return QRectF(
            centre.x() - width / 2 + self.pan.x(), centre.y() - height / 2 + self.pan.y(), width, height
        )

    def to_widget(self, x: float, y: float) -> QPointF:
        r = self.image_rect()
        return QPointF(r.x() + x * r.width(), r.y() + y * r.height())

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        r = self.image_rect()
        x = (pos.x() - r.x()) / max(1.0, r.width())
        y = (pos.y() - r.y()) / max(1.0, r.height())
        return min(1.0, max(0.0, x)), min(1.0, max(0.0, y))

    def _marker_at(self, pos: QPointF) -> int | None:
        best, best_distance = None, float(GRAB_DISTANCE)
        for i, point in enumerate(self.points):
            if point is not None:
                offset = self.to_widget(*point) - pos
                distance = (offset.x() ** 2 + offset.y() ** 2) ** 0.5
                if distance <= best_distance:  # the nearest, not the first: markers sit close together
                    best, best_distance = i, distance
        return best

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if not notches:
            return
        pos = event.position()
        anchor = self.to_image(pos)  # the image point under the pointer stays there
        self.zoom = min(MAX_ZOOM, max(1.0, self.zoom * ZOOM_STEP**notches))
        if self.zoom == 1.0:
            self.pan = QPointF(0.0, 0.0)
        else:
            self.pan += pos - self.to_widget(*anchor)
        self.update()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self.reset_view()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._panning = pos
            return
        hit = self._marker_at(pos)
        if hit is not None:
            self._drag = hit
            self.selected.emit(hit)
        elif self.image_rect().contains(pos):
            self.clicked.emit(*self.to_image(pos))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._panning is not None:
            self.pan += pos - self._panning
            self._panning = pos
            self.update()
        elif self._drag is not None:
            self.points[self._drag] = self.to_image(pos)
            self.update()
        else:
            hit = self._marker_at(pos)
            self.hovered.emit(-1 if hit is None else hit)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            self._panning = None
        elif self._drag is not None:
            index, self._drag = self._drag, None
            self.moved.emit(index, *self.to_image(event.position()))

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered.emit(-1)
        super().leaveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().dark())
        if not self.image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.image_rect(), self.image)
        if self.overlay:  # bright dots with a dark rim: visible on light skin and dark hair alike
            painter.setPen(QPen(QColor(0, 0, 0, 200), 0.8))
            painter.setBrush(QColor(90, 255, 130))
            for x, y in self.overlay:
                painter.drawEllipse(self.to_widget(x, y), 1.8, 1.8)
        labelled = self.labelled()
        order = [i for i in range(len(self.points)) if i not in labelled] + sorted(labelled)  # labels on top
        for i in order:
            point = self.points[i]
            if point is None:
                continue
            centre = self.to_widget(*point)
            rim = QColor("white") if i == self.current else QColor("black")
            if self.origin(i) == AUTO:
                self._draw_ring(painter, centre, marker_colour(i), rim, i in labelled)
            else:
                radius = SELECTED_RADIUS if i in labelled else MARKER_RADIUS
                painter.setPen(QPen(rim, 2 if i in labelled else 1))
                painter.setBrush(marker_colour(i))
                painter.drawEllipse(centre, radius, radius)
            if i in labelled:
                self._draw_label(painter, centre, str(i + 1))

    @staticmethod
    def _draw_ring(painter: QPainter, centre: QPointF, colour: QColor, rim: QColor, labelled: bool) -> None:
        """An automatic pair: a coloured ring on a darker one (seen on light skin and dark hair
        alike), its middle left clear."""
        radius = SELECTED_RADIUS if labelled else AUTO_RADIUS
        painter.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        rim.setAlpha(255 if labelled else 170)
        painter.setPen(QPen(rim, 3.2 if labelled else 2.6))
        painter.drawEllipse(centre, radius, radius)
        painter.setPen(QPen(colour, 1.8 if labelled else 1.4))
        painter.drawEllipse(centre, radius, radius)

    def _draw_label(self, painter: QPainter, centre: QPointF, text: str) -> None:
        """The pair's number in a dark box beside the marker (not on the feature it marks)."""
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 8, metrics.height() + 2)
        box.moveBottomLeft(centre + QPointF(SELECTED_RADIUS + 2, -SELECTED_RADIUS - 2))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 190))
        painter.drawRoundedRect(box, 3, 3)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
