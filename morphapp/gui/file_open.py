"""Files the desktop hands to a running app: macOS sends a double-clicked project, or files dropped
on the Dock icon, as a ``QFileOpenEvent`` to the application, not as command-line arguments."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent

from morphapp.gui.main_window import MainWindow


class FileOpenHandler(QObject):
    """Install on the QApplication: each file-open event goes to ``window.open_paths``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return super().eventFilter(watched, event)
        path = Path(event.file())
        # A project replaces the open one: ask first, as File > Open does; images join the morph.
        if path.suffix.lower() == ".json" and not self.window.confirm_discard():
            return True
        self.window.open_paths([path])
        self.window.raise_()
        self.window.activateWindow()
        return True
