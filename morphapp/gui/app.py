"""Start the desktop app, optionally open a project, optionally save a screenshot and exit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from morphapp import __version__
from morphapp.core.atomic import atomic_path
from morphapp.gui.about import app_icon
from morphapp.gui.file_open import FileOpenHandler
from morphapp.gui.main_window import MainWindow
from morphapp.gui.platform_check import check_platform
from morphapp.gui.theme import apply_dark_theme

SCREENSHOT_TIMEOUT_MS = 600_000  # a 2.5-s default morph at 512² on a busy 2-core CPU took over 180 s


def run_gui(
    paths: list[Path] | None = None, screenshot: Path | None = None, size: tuple[int, int] | None = None
) -> int:
    """``paths``: a project to open, or images to start a morph with (what a desktop passes)."""
    existing = QApplication.instance()  # typed QCoreApplication: the window needs a QApplication
    if existing is None:
        check_platform()  # one clear line instead of Qt's abort when its platform plugin cannot run
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("morphapp")
    app.setOrganizationName("morphapp")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("morphapp")  # Wayland/X11 match the window to morphapp.desktop's icon
    apply_dark_theme(app)
    window = MainWindow()
    app.installEventFilter(FileOpenHandler(window))  # macOS: projects double-clicked while running
    if size is not None:
        window.resize(*size)
    window.show()
    if screenshot is None:
        window.offer_recovery()
    if paths and not window.open_paths(list(paths)) and screenshot is not None:
        print(f"morphapp: error: {window.error_bar.text}", file=sys.stderr)
        window.ask_before_close = False
        window.close()  # stops the engine thread: a running QThread must not outlive its window
        return 2
    if screenshot is not None:
        window.ask_before_close = False
        window.offer_model_download = False  # nobody is there to answer a dialog
        _screenshot_when_ready(app, window, screenshot)
    return int(app.exec())


def _screenshot_when_ready(app: QApplication, window: MainWindow, target: Path) -> None:
    """Wait for the preview (and the music's analysis) to finish, then grab the window and quit.

    A preview that fails (no model, a bad keyframe, an engine error) or never finishes is an
    error: its message goes to stderr, the exit status is 2 and no screenshot is written.
    """

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
        if done["fired"]:
            return
        if window.music.analysing():  # the music strip: its waveform and beats belong in the picture
            QTimer.singleShot(200, once)
            return
        done["fired"] = True
        QTimer.singleShot(200, grab)

    def fail(message: str) -> None:
        if not done["fired"]:
            done["fired"] = True
            print(f"morphapp: error: {message.splitlines()[0]}", file=sys.stderr)
            window.close()
            app.exit(2)

    window.preview.finished.connect(once)
    window.preview.error.connect(fail)
    if not window.document.can_render():
        QTimer.singleShot(500, once)
    seconds = SCREENSHOT_TIMEOUT_MS // 1000
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: fail(f"the preview did not finish within {seconds} s"))
