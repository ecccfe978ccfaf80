"""What auto-align did with the dropped keyframes, kept in view on the status bar.

The status bar's message line is shared: the preview's "Rendering preview: 61 frames…" replaced the
alignment's words a tenth of a second after they appeared (issue 22: the note must say which path
was taken, in words an artist reads). So the words live in a permanent label of their own, elided
to fit, the figures in its tooltip, until the morph they describe changes (other keyframes, or
points edited, undone or cleared).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel

MAX_WIDTH = 520  # px: room for the model's name beside it on a 1280-px window


class AlignStatus(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setMaximumWidth(MAX_WIDTH)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.words = ""  # the whole sentence; the label shows it elided
        self.about: tuple[object, object] | None = None  # (keyframes, points) the words describe

    def working(self) -> None:
        self.about = None
        self._show("Aligning the new keyframes…", "")

    def show_result(self, words: str, figures: str, keyframes: object, points: object) -> None:
        """``words`` for the artist (one line), ``figures`` (the tooltip), and what they describe."""
        self.about = (keyframes, points)
        self._show(words, figures)

    def follow(self, keyframes: object, points: object) -> None:
        """The document changed: words about another morph are cleared."""
        if self.about is not None and self.about != (keyframes, points):
            self.clear_result()

    def clear_result(self) -> None:
        self.about = None
        self._show("", "")

    def _show(self, words: str, figures: str) -> None:
        self.words = words
        self.setToolTip(figures or words)
        self.setText(self._elided(MAX_WIDTH if self.width() < 40 else self.width()))
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        """As wide as the whole sentence (up to ``MAX_WIDTH``), not the elided text shown."""
        full = self.fontMetrics().horizontalAdvance(self.words) + 2 * self.margin() + 4
        return QSize(min(MAX_WIDTH, full) if self.words else 0, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())  # the status bar may squeeze it: elided

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(self._elided(self.width()))

    def _elided(self, width: int) -> str:
        return self.fontMetrics().elidedText(self.words, Qt.TextElideMode.ElideRight, max(0, width - 4))
