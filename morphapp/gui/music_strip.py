"""The music under the timeline: waveform, beat markers, keyframe marks, playhead; snap to beats.

The strip spans the morph as it plays: from the music's start (the first beat a keyframe sits
on, after a snap) for ``frames / fps`` seconds. Orange lines are the detected beats; a keyframe's
mark is green when a beat lies within half a frame of it, blue otherwise. Clicking or dragging
in the strip moves the playhead. The analysis (one decode, librosa's beat tracker) runs on a
worker thread: seconds per track, about half a minute the very first time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from morphapp.gui.background_job import BackgroundJobs
from morphapp.music.analysis import MusicAnalysis, analyse_music

AUDIO_FILTER = "Music (*.wav *.mp3 *.flac *.ogg *.oga *.opus *.m4a *.aac)"
BEAT = QColor("#f0a030")
ON_BEAT = QColor("#50d070")
OFF_BEAT = QColor("#5090f0")
WAVE = QColor("#8a93b0")


class MusicAnalyser(QObject):
    """Analyses one track at a time off the GUI thread; results are kept per path."""

    finished = Signal(object, object)  # path, MusicAnalysis or an error line

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = BackgroundJobs(self, "morphapp-music")
        self.results: dict[tuple[Path, int, int], MusicAnalysis | str] = {}  # by path, mtime, size

    def start(self, path: Path) -> None:
        result = self.result(path)
        if result is not None:
            self.finished.emit(path, result)
            return
        key = _file_key(path)  # the key of the file as read (not as at the end)
        self._jobs.run(
            lambda _cancel, _report: analyse_music(path),
            on_result=functools.partial(self._on_done, path, key),
            on_error=functools.partial(self._on_done, path, key),
        )

    def result(self, path: Path) -> MusicAnalysis | str | None:
        """The analysis of ``path`` as it is on disk now (a file changed in place is analysed again)."""
        return self.results.get(_file_key(path))

    def _on_done(self, path: Path, key: tuple[Path, int, int], result: MusicAnalysis | str) -> None:
        self.results[key] = result
        self.finished.emit(path, result)

    def stop(self) -> None:
        self._jobs.stop()


def _file_key(path: Path) -> tuple[Path, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (path, 0, 0)
    return (path, stat.st_mtime_ns, stat.st_size)


class MusicStrip(QWidget):
    seek_requested = Signal(int)  # frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("musicStrip")
        self.setMinimumHeight(56)
        self.setToolTip("The music: beats in orange, keyframes green on a beat, blue off it. Click to seek.")
        self.analysis: MusicAnalysis | None = None
        self.start = 0.0
        self.fps = 24.0
        self.total = 0
        self.keyframe_frames: list[int] = []
        self.playhead = 0

    def set_timing(self, start: float, fps: float, total: int, keyframe_frames: Sequence[int]) -> None:
        self.start, self.fps, self.total = start, float(fps), total
        self.keyframe_frames = list(keyframe_frames)
        self.update()

    def set_playhead(self, frame: int) -> None:
        self.playhead = frame
        self.update()

    def span(self) -> float:
        return max(self.total, 1) / self.fps

    def x_of(self, seconds: float) -> float:
        return (seconds - self.start) / self.span() * self.width()

    def keyframes_on_beats(self) -> list[bool]:
        """Per keyframe mark: whether a detected beat lies within half a frame of it."""
        beats = self.analysis.beats if self.analysis is not None else np.zeros(0)
        half = 0.5 / self.fps
        return [
            bool(beats.size and np.min(np.abs(beats - (self.start + f / self.fps))) <= half + 1e-9)
            for f in self.keyframe_frames
        ]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1e2130"))
        width, height = self.width(), self.height()
        middle = height / 2
        if self.analysis is not None and width > 0:
            peaks = self.analysis.peaks_between(self.start, self.start + self.span(), width)
            painter.setPen(QPen(WAVE, 1))
            for column, peak in enumerate(peaks):
                half = float(peak) * (middle - 4)
                painter.drawLine(QPointF(column + 0.5, middle - half), QPointF(column + 0.5, middle + half))
            painter.setPen(QPen(BEAT, 1))
            for beat in self.analysis.beats:
                x = self.x_of(float(beat))
                if 0 <= x <= width:
                    painter.drawLine(QPointF(x, 0), QPointF(x, height))
        for frame, on in zip(self.keyframe_frames, self.keyframes_on_beats(), strict=True):
            x = self.x_of(self.start + frame / self.fps)
            colour = ON_BEAT if on else OFF_BEAT
            painter.setPen(QPen(colour, 3))
            painter.drawLine(QPointF(x, height - 14), QPointF(x, height))
            painter.fillRect(QRectF(x - 4, 0, 8, 8), colour)
        painter.setPen(QPen(QColor("#ffffff"), 1))
        x = self.x_of(self.start + self.playhead / self.fps)
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._seek(event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._seek(event.position().x())

    def _seek(self, x: float) -> None:
        if self.total > 0 and self.width() > 0:
            frame = int(x / self.width() * self.total)  # the frame whose 1/fps s holds the click
            self.seek_requested.emit(min(max(frame, 0), self.total - 1))


class MusicPanel(QWidget):
    """The strip with its line of facts and the snap controls; hidden while there is no music."""

    snap_requested = Signal(object)  # beats per keyframe (None: spread over all beats)
    reactive_requested = Signal()
    remove_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("musicPanel")
        self.strip = MusicStrip()
        self.info = QLabel()
        self.info.setObjectName("musicInfo")
        self.per_keyframe = QSpinBox()
        self.per_keyframe.setRange(0, 64)
        self.per_keyframe.setSpecialValueText("spread")
        self.per_keyframe.setPrefix("every ")
        self.per_keyframe.setSuffix(" beats")
        self.per_keyframe.setToolTip("Beats between keyframes; “spread” spaces them over all the beats")
        self.snap_button = QPushButton("Snap Keyframes to Beats")
        self.snap_button.setEnabled(False)
        self.snap_button.clicked.connect(lambda: self.snap_requested.emit(self.per_keyframe.value() or None))
        self.reactive_button = QPushButton("Music-Reactive Spacing")
        self.reactive_button.setToolTip(
            "Space the in-betweens by the music's loudness: faster on loud passages"
        )
        self.reactive_button.setEnabled(False)
        self.reactive_button.clicked.connect(self.reactive_requested)
        remove = QPushButton("Remove Music")
        remove.clicked.connect(self.remove_requested)
        row = QHBoxLayout()
        row.addWidget(self.info, 1)
        row.addWidget(self.per_keyframe)
        row.addWidget(self.snap_button)
        row.addWidget(self.reactive_button)
        row.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.strip)
        self.path: Path | None = None
        self.playback_note = ""
        self.setVisible(False)  # until a project has music

    def show_music(self, path: Path | None, fresh: bool = False) -> None:
        """A new track (or none; ``fresh``: the same path with new contents): "Analysing…" until
        ``show_analysis`` brings its envelope and beats."""
        self.setVisible(path is not None)
        if path != self.path or fresh:
            self.path = path
            self.strip.analysis = None
            self.snap_button.setEnabled(False)
            self.reactive_button.setEnabled(False)
            self.info.setText(f"{path.name}: analysing the music…" if path is not None else "")
            self.strip.update()

    def show_analysis(self, path: Path, result: MusicAnalysis | str) -> None:
        if path != self.path:
            return  # an older track's result
        if isinstance(result, str):  # the engine's message, without the CLI's flag name
            self.info.setText(f"{path.name}: {result.removeprefix('--audio ')}")
            return
        self.strip.analysis = result
        facts = [f"{path.name}", f"{result.duration:.1f} s"]
        if len(result.beats):
            facts += [f"{result.tempo:.0f} BPM", f"{len(result.beats)} beats"]
        else:
            facts.append(result.beats_error or "no beats found")
        if self.playback_note:
            facts.append(self.playback_note)
        self.info.setText(" · ".join(facts))
        self.snap_button.setEnabled(len(result.beats) >= 2)
        self.reactive_button.setEnabled(result.onsets.size > 0)
        self.strip.update()
