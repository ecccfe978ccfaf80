"""The keyframe strip: thumbnails in order; drop files to add, drag to reorder, Delete to remove."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QImageReader,
    QKeyEvent,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from morphapp.core.domain.keyframes import AnyKeyframe, ExprKeyframe, Keyframe, PromptKeyframe

THUMB = 96
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif)"  # file dialogs


def image_paths_from_urls(urls: Iterable[QUrl]) -> list[Path]:
    paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
    return [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES or p.is_file()]


def thumbnail(path: Path) -> QIcon:
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation, as the engine applies it
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QIcon(QPixmap.fromImage(image)) if not image.isNull() else QIcon()


def prompt_icon(prompt: str) -> QIcon:
    """A prompt keyframe's tile: its words on a card (the picture exists only once rendered)."""
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#2d3142"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#e8e8f0"))
    font = painter.font()
    font.setPointSizeF(8.5)
    painter.setFont(font)
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    painter.drawText(pixmap.rect().adjusted(6, 6, -6, -6), flags, f"“{prompt[:90]}”")
    painter.end()
    return QIcon(pixmap)


def expression_icon(keyframe: ExprKeyframe, image_icon: Callable[[Path], QIcon]) -> QIcon:
    """An expression keyframe's tile: its first four terms in a grid, each with its sign."""
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#2d3142"))
    painter = QPainter(pixmap)
    cell = THUMB // 2
    for i, term in enumerate(keyframe.terms[:4]):
        x, y = (i % 2) * cell, (i // 2) * cell
        source = term.source
        icon = image_icon(source.path) if isinstance(source, Keyframe) else prompt_icon(source.prompt)
        painter.drawPixmap(x + 2, y + 2, icon.pixmap(cell - 4, cell - 4))
        sign = "−" if term.weight < 0 else "+"
        painter.fillRect(x + 2, y + 2, 14, 14, QColor(0, 0, 0, 160))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(x + 2, y + 2, 14, 14, Qt.AlignmentFlag.AlignCenter, sign)
    painter.end()
    return QIcon(pixmap)


class KeyframeStrip(QListWidget):
    files_dropped = Signal(list, int)  # paths, insert position
    moved = Signal(int, int)  # from, to
    edit_requested = Signal(int)  # a double-clicked keyframe (expressions open their editor)
    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyframeStrip")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 24, THUMB + 30))
        self.setMovement(QListWidget.Movement.Snap)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setAcceptDrops(True)
        self.setFixedHeight(THUMB + 52)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setToolTip("Drop images here (or use File ▸ Add Images…). Drag to reorder, Delete to remove.")
        self._icons: dict[Path, QIcon] = {}
        self.itemDoubleClicked.connect(lambda item: self.edit_requested.emit(self.row(item)))

    def set_keyframes(self, keyframes: tuple[AnyKeyframe, ...]) -> None:
        self.clear()
        for i, keyframe in enumerate(keyframes):
            if isinstance(keyframe, PromptKeyframe):
                icon, label, tip = prompt_icon(keyframe.prompt), f"{i + 1}. prompt", keyframe.prompt
            elif isinstance(keyframe, ExprKeyframe):
                icon = expression_icon(keyframe, self._thumbnail)
                label, tip = f"{i + 1}. expression", f"expr:{keyframe.text()}\n(double-click to edit)"
            else:
                icon = self._thumbnail(keyframe.path)
                label, tip = f"{i + 1}. {keyframe.path.name}", str(keyframe.path)
            item = QListWidgetItem(icon, label)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.addItem(item)

    def _thumbnail(self, path: Path) -> QIcon:
        icon = self._icons.get(path)
        if icon is None:
            icon = self._icons[path] = thumbnail(path)
        return icon

    # Drops from outside add files; drops from inside reorder (through the document, for undo).
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.source() is self:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        target_item = self.itemAt(event.position().toPoint())
        target = self.row(target_item) if target_item is not None else self.count()
        if event.mimeData().hasUrls() and event.source() is not self:
            paths = image_paths_from_urls(event.mimeData().urls())
            if paths:
                self.files_dropped.emit(paths, target)
            event.acceptProposedAction()
            return
        source = self.currentRow()
        event.ignore()  # the document reorders and the strip is rebuilt from it
        if source >= 0 and target != source:
            self.moved.emit(source, min(target, self.count() - 1))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.currentRow() >= 0:
            self.remove_requested.emit(self.currentRow())
            return
        super().keyPressEvent(event)
