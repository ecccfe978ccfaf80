"""The preview: a large view of the current frame, the scrub slider, play/pause and a filmstrip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from morphapp.gui.preview_controller import PreviewController

FILM_THUMB = 72


class FrameView(QWidget):
    """Paints one frame scaled to fit, centred, with a message when there is nothing to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameView")
        self.setMinimumSize(320, 240)
        self.image: QImage | None = None
        self.message = "Drop two or more images here to start a morph"

    def set_image(self, image: QImage | None, message: str = "") -> None:
        self.image = image
        self.message = message
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().dark())
        if self.image is not None and not self.image.isNull():
            target = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - target.width()) // 2
            y = (self.height() - target.height()) // 2
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.rect().adjusted(x, y, -x, -y), self.image)
        elif self.message:
            painter.setPen(self.palette().brightText().color())
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message
            )


class PreviewPanel(QWidget):
    """View + transport. Knows frames only through the PreviewController."""

    playing_changed = Signal(bool)

    def __init__(self, controller: PreviewController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.view = FrameView()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("scrubSlider")
        self.slider.setEnabled(False)
        self.play_button = QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setCheckable(True)
        self.play_button.setText("▶")
        self.play_button.setToolTip("Play / pause (Space)")
        self.loop_button = QToolButton()
        self.loop_button.setCheckable(True)
        self.loop_button.setChecked(True)
        self.loop_button.setText("⟳")
        self.loop_button.setToolTip("Loop playback")
        self.position = QLabel("—")
        self.position.setObjectName("framePosition")
        self.position.setMinimumWidth(190)
        self.film = QListWidget()
        self.film.setObjectName("filmstrip")
        self.film.setViewMode(QListWidget.ViewMode.IconMode)
        self.film.setFlow(QListWidget.Flow.LeftToRight)
        self.film.setWrapping(False)
        self.film.setIconSize(QSize(FILM_THUMB, FILM_THUMB))
        self.film.setMovement(QListWidget.Movement.Static)
        self.film.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.film.setFixedHeight(FILM_THUMB + 40)  # room for the labels and the horizontal scroll bar

        transport = QHBoxLayout()
        transport.addWidget(self.play_button)
        transport.addWidget(self.loop_button)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.position)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(transport)
        layout.addWidget(self.film)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.step_forward_playing)
        self.play_button.toggled.connect(self.set_playing)
        self.slider.valueChanged.connect(self.scrub)
        self.film.currentRowChanged.connect(self._film_row_changed)
        controller.frames_reset.connect(self.reset)
        controller.frame_updated.connect(self.on_frame)
        controller.error.connect(lambda _message: self.show_frame(self.current))

    @property
    def current(self) -> int:
        return self.slider.value()

    def reset(self, total: int) -> None:
        # Quietly: clearing the strip moves its current row, which used to drag the playhead off
        # the midpoint (a dropped portrait pair opened at frame 8 of 25 once auto-align re-rendered).
        self.film.blockSignals(True)
        self.film.clear()
        blank = QPixmap(FILM_THUMB, FILM_THUMB)
        blank.fill(Qt.GlobalColor.darkGray)
        for i in range(total):
            item = QListWidgetItem(QIcon(blank), str(i + 1))
            self.film.addItem(item)
        self.film.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, total - 1))
        self.slider.setValue(self.controller.playhead)  # the controller renders from there outwards
        self.slider.blockSignals(False)
        self.slider.setEnabled(total > 0)
        if total == 0:
            self.set_playing(False)
        self.show_frame(self.slider.value())

    def on_frame(self, index: int) -> None:
        image = self.controller.frames[index]
        item = self.film.item(index)
        if item is not None:
            thumb = image.scaled(FILM_THUMB, FILM_THUMB, Qt.AspectRatioMode.KeepAspectRatio)
            item.setIcon(QIcon(QPixmap.fromImage(thumb)))
        if index == self.current:
            self.show_frame(index)

    def show_provisional(self, image: QImage) -> None:
        """A diffusion step's preview, shown while the frame under the playhead is still missing."""
        if self.controller.total and self.current not in self.controller.frames:
            self.view.set_image(image)

    def scrub(self, index: int) -> None:
        """The artist moved the playhead (slider, filmstrip, keys, playback)."""
        self.controller.set_playhead(index)
        self.show_frame(index)

    def _film_row_changed(self, row: int) -> None:
        if row >= 0:  # -1: the filmstrip was cleared
            self.slider.setValue(row)

    def show_frame(self, index: int) -> None:
        total = self.controller.total
        if total == 0:
            self.position.setText("—")
            self.view.set_image(None, self.view.message if not self.controller.frames else "")
            return
        spec = self.controller.plan[index]
        self.position.setText(f"Frame {index + 1} / {total}   t = {spec.t:.2f} ({spec.a + 1}→{spec.b + 1})")
        image = self.controller.frames.get(index)
        self.view.set_image(image, "" if image is not None else self._waiting_text())
        self.film.blockSignals(True)
        self.film.setCurrentRow(index)
        self.film.blockSignals(False)

    def _waiting_text(self) -> str:
        """What a missing frame shows: "Rendering…", unless the render failed (then never "Rendering…")."""
        failure = self.controller.failure
        if failure is None:
            return "Rendering…"
        return f"Cannot render the preview:\n{failure.splitlines()[0]}"

    def set_playing(self, playing: bool) -> None:
        fps = self.controller.document.settings.fps
        if playing and self.controller.total > 1:
            self.timer.start(max(1, round(1000 / fps)))
        else:
            self.timer.stop()
            playing = False
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.setText("❚❚" if playing else "▶")
        self.play_button.blockSignals(False)
        self.playing_changed.emit(playing)

    def toggle_play(self) -> None:
        self.set_playing(not self.timer.isActive())

    def step(self, delta: int) -> None:
        total = self.controller.total
        if total:
            self.slider.setValue((self.current + delta) % total)

    def step_forward_playing(self) -> None:
        total = self.controller.total
        if self.current + 1 >= total and not self.loop_button.isChecked():
            self.set_playing(False)
            return
        self.step(1)
