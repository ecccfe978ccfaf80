"""No usable model at all (the built-in one removed or damaged): offer a download, or a file on disk.

A normal install never shows this: the built-in TAEF2 (``morphapp.models.builtin``) renders at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.cancel import CancelToken
from morphapp.errors import Cancelled, MorphError
from morphapp.models.discovery import find_model
from morphapp.models.library import PullProgress, pull
from morphapp.models.registry import KNOWN_MODELS


class PullWorker(QObject):
    """Runs ``library.pull`` off the GUI thread (downloads are not engine work: own thread)."""

    progress = Signal(str, int, int)  # file name, bytes done, bytes total (0: unknown)
    done = Signal(str)  # model name
    failed = Signal(str)

    @Slot(str, object)
    def run(self, name: str, cancel: CancelToken) -> None:
        def report(p: PullProgress) -> None:
            self.progress.emit(f"{p.filename} ({p.file_index}/{p.file_count})", p.done, p.total or 0)

        try:
            result = pull(name, progress=report, cancel=cancel)
        except Cancelled:
            self.failed.emit("Download cancelled.")
        except MorphError as exc:
            self.failed.emit(str(exc))
        else:
            self.done.emit(result.model.name)


class ModelSetupDialog(QDialog):
    """Offers a download of a known small model, or "I already have it: browse…"."""

    model_ready = Signal(str)  # a model name or a path that find_model accepts
    start_pull = Signal(str, object)

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("No model found")
        self.setObjectName("modelSetupDialog")
        self.cancel_token: CancelToken | None = None
        intro = QLabel(
            "morphapp needs a tiny autoencoder model to turn images into latents, and even its built-in "
            f"one is missing or damaged:\n\n{message}"
        )
        intro.setWordWrap(True)
        self.choice = QComboBox()
        # The built-in model's own repository first: downloading it restores a broken install.
        for known in sorted(KNOWN_MODELS.values(), key=lambda m: m.name != "taef2"):
            self.choice.addItem(f"{known.name} — {known.description} ({known.repo})", known.name)
        self.download_button = QPushButton("Download")
        self.browse_button = QPushButton("I already have it: browse…")
        self.close_button = QPushButton("Close")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setObjectName("modelSetupStatus")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.choice, 1)
        row.addWidget(self.download_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.browse_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.setMinimumWidth(560)

        self.thread = QThread(self)
        self.worker = PullWorker()
        self.worker.moveToThread(self.thread)
        self.start_pull.connect(self.worker.run)
        self.worker.progress.connect(self._on_progress)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.thread.start()
        self.download_button.clicked.connect(self.download)
        self.browse_button.clicked.connect(self.browse)
        self.close_button.clicked.connect(self.cancel_or_close)
        self.finished.connect(self._stop_thread)

    def download(self) -> None:
        self.cancel_token = CancelToken()
        self.download_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {self.choice.currentData()}…")
        self.close_button.setText("Cancel")
        self.start_pull.emit(self.choice.currentData(), self.cancel_token)

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a model file", str(Path.home()), "Models (*.safetensors *.pth *.pt)"
        )
        if path:
            self.use_existing(Path(path))

    def use_existing(self, path: Path) -> bool:
        """Check a model the artist already has; on success it becomes the default."""
        try:
            info = find_model(str(path))
        except MorphError as exc:
            self.status.setText(str(exc))
            return False
        if not info.can_encode:
            self.status.setText(f"{path.name}: has no encoder, so it cannot turn images into latents")
            return False
        self.model_ready.emit(str(path))
        self.accept()
        return True

    def cancel_or_close(self) -> None:
        if self.cancel_token is not None:
            self.cancel_token.cancel()
        else:
            self.reject()

    def _on_progress(self, name: str, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.status.setText(f"Downloading {name}: {done / 1e6:.1f} MB")

    def _on_done(self, name: str) -> None:
        self.cancel_token = None
        self.model_ready.emit(name)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.cancel_token = None
        self.progress.setVisible(False)
        self.download_button.setEnabled(True)
        self.close_button.setText("Close")
        self.status.setText(message)

    def _stop_thread(self) -> None:
        if self.cancel_token is not None:
            self.cancel_token.cancel()
        self.thread.quit()
        self.thread.wait(10_000)
