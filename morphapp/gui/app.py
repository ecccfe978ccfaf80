"""Start the desktop app, optionally open a project, optionally save a screenshot and exit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from morphapp import __version__
from morphapp.core.atomic import atomic_path
from morphapp.gui.main_window import MainWindow
from morphapp.gui.theme import apply_dark_theme

SCREENSHOT_TIMEOUT_MS = 180_000


def run_gui(
    project: Path | None = None, screenshot: Path | None = None, size: tuple[int, int] | None = None
) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("morphapp")
    app.setOrganizationName("morphapp")
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    window = MainWindow()
    if size is not None:
        window.resize(*size)
    window.show()
    if screenshot is None:
        window.offer_recovery()
    if project is not None and not window.open_project(project) and screenshot is not None:
        print(f"morphapp: error: {window.error_bar.text}", file=sys.stderr)
        return 2
    if screenshot is not None:
        window.ask_before_close = False
        _screenshot_when_ready(window, screenshot)
    return int(app.exec())


def _screenshot_when_ready(window: MainWindow, target: Path) -> None:
    """Wait for the preview to finish (or fail), then grab the window and quit."""

    def grab() -> None:
        panel = window.preview_panel
        panel.slider.setValue(window.preview.total // 2)  # the midpoint says more than a keyframe
        QApplication.processEvents()
        with atomic_path(target) as tmp:
            if not window.grab().save(str(tmp), "PNG"):
                raise OSError(f"could not write {target}")
        window.close()

    done = {"fired": False}

    def once(*_args: object) -> None:
        if not done["fired"]:
            done["fired"] = True
            QTimer.singleShot(200, grab)

    window.preview.finished.connect(once)
    window.preview.error.connect(once)
    if not window.document.can_render():
        QTimer.singleShot(500, once)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, once)
