"""Help ▸ About: what this morphapp is made of (versions, device) and the bundled models' licences."""

from __future__ import annotations

import html
import platform
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from morphapp import __version__

ICONS = Path(__file__).resolve().parent / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        path = ICONS / f"morphapp-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon


def bundled_models() -> list[tuple[str, str, Path]]:
    """(what, licence, licence file) of each model that ships inside the package."""
    from morphapp.faces.runtime import MODEL_DIR
    from morphapp.models.builtin import builtin_folder

    return [
        ("TAEF2 tiny autoencoder (FLUX.2 latents), by Ollin Boer Bohan", "MIT",
         builtin_folder() / "LICENSE-taef2"),
        ("MediaPipe face detection, face mesh and selfie segmentation, by Google", "Apache-2.0",
         MODEL_DIR / "LICENSE-mediapipe"),
    ]  # fmt: skip


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _os_name() -> str:
    """The operating system and its release, as a bug report wants it (no host or user names)."""
    system = platform.system()
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]}"
    if system == "Linux":
        try:
            name = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
        except OSError:
            name = "Linux"
        return f"{name} (Linux {platform.release()})"
    return f"{system} {platform.release()} ({platform.version()})"


def about_lines(device: str) -> list[str]:
    import torch

    onnx = _version("onnxruntime")
    if onnx == "not installed":
        onnx = _version("onnxruntime-gpu")
    return [
        f"morphapp {__version__}",
        f"Python {platform.python_version()} on {_os_name()}, {platform.machine()}",
        f"PyTorch {torch.__version__}, ONNX Runtime {onnx}, LiteRT {_version('ai-edge-litert')}",
        f"Qt {qVersion()}, PySide6 {pyside_version}",
        f"Device: {device}",
    ]


def version_report(device: str) -> str:
    """Help ▸ Copy Version Info: the About lines as plain text for a bug report. Nothing in them
    names the artist's files; the home folder is written ~ should a version string carry it."""
    text = "\n".join(about_lines(device)) + "\n"
    home = str(Path.home())
    return text.replace(home, "~") if len(home) > 1 else text


class AboutDialog(QDialog):
    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About morphapp")
        self.setObjectName("aboutDialog")
        self.setWindowIcon(app_icon())
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        lines = about_lines(device)
        self.summary = QLabel(
            f"<h2>{html.escape(lines[0])}</h2><p>Morph between images through the latent space of "
            "diffusion models.</p><p>" + "<br>".join(html.escape(line) for line in lines[1:]) + "</p>"
        )
        self.licences = QTextBrowser()
        parts = []
        for what, licence, path in bundled_models():
            text = path.read_text(encoding="utf-8") if path.is_file() else f"(missing: {path})"
            parts.append(f"<h3>{html.escape(what)} — {licence}</h3><pre>{html.escape(text)}</pre>")
        self.licences.setHtml("<p>Models that ship with morphapp:</p>" + "".join(parts))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        top = QHBoxLayout()
        top.addWidget(logo)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.licences, 1)
        layout.addWidget(close)
        self.resize(640, 520)
