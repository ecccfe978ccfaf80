"""No usable model at all (the built-in one removed or damaged): offer a download, or a file on disk.

A normal install never shows this: the built-in TAEF2 (``morphapp.models.builtin``) renders at once.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Signal
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
from morphapp.errors import MorphError
from morphapp.gui.background_job import BackgroundJobs, Report
from morphapp.models.discovery import find_model
from morphapp.models.library import PullProgress, pull
from morphapp.models.registry import KNOWN_MODELS


def _pull(name: str, cancel: CancelToken, report: Report) -> str:
    """Downloads ``name`` (not engine work: a job thread of the dialog's own); its model's name."""

    def progress(p: PullProgress) -> None:
        report((f"{p.filename} ({p.file_index}/{p.file_count})", p.done, p.total or 0))

    return pull(name, progress=progress, cancel=cancel).model.name


class ModelSetupDialog(QDialog):
    """Offers a download of a known small model, or "I already have it: browse…"."""

    model_ready = Signal(str)  # a model name or a path that find_model accepts

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("No model found")
        self.setObjectName("modelSetupDialog")
        self.cancel_token: CancelToken | None = None  # the running download's
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

        self.jobs = BackgroundJobs(self, "morphapp-pull")
        self.download_button.clicked.connect(self.download)
        self.browse_button.clicked.connect(self.browse)
        self.close_button.clicked.connect(self.cancel_or_close)
        self.finished.connect(self._closed)

    def download(self) -> None:
        name = self.choice.currentData()
        self.download_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {name}…")
        self.close_button.setText("Cancel")
        job = self.jobs.run(
            functools.partial(_pull, name), on_result=self._on_done, on_error=self._on_failed,
            on_cancelled=lambda: self._on_failed("Download cancelled."), on_progress=self._on_progress,
        )  # fmt: skip
        self.cancel_token = job.token

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

    def _on_progress(self, progress: tuple[str, int, int]) -> None:
        name, done, total = progress  # file name, bytes done, bytes total (0: unknown)
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

    def _closed(self) -> None:
        """The download stops with the dialog, which is left as after a Cancel."""
        self.jobs.stop()
        if self.cancel_token is not None:
            self._on_failed("Download cancelled.")
