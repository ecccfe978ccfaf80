"""The export dialog: presets, size and fps, destination, progress with cancel, then show the file."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.keyframes import AnyKeyframe, Keyframe
from morphapp.core.domain.project import Project
from morphapp.core.imaging.sizes import round_side
from morphapp.errors import MorphError
from morphapp.export import FORMATS
from morphapp.export.formats import ExportFormat
from morphapp.gui.engine_worker import EngineWorker, ExportJob, ModelChoice
from morphapp.gui.settings_fields import SizeSpinBox, fps_field
from morphapp.gui.wording import in_window_terms


@dataclass(frozen=True)
class Preset:
    label: str
    format: str
    max_side: int | None  # None: the project's size
    fps: float | None  # None: the project's fps


PRESETS = (
    Preset("GIF for the web (≤ 480 px, about 1 MB a second)", "gif-web", 480, None),
    Preset("MP4 to share (H.264)", "mp4", None, None),
    Preset("MP4 H.265 10-bit (HEVC), small", "hevc", None, None),
    Preset("MP4 H.264 10-bit for editors", "mp4-10bit", None, None),
    Preset("MP4 H.264 4:4:4 for editors", "mp4-444", None, None),
    Preset("WebM (VP9)", "webm", None, None),
    Preset("Animated WebP for the web (≤ 720 px)", "webp", 720, None),
    Preset("Animated PNG, lossless", "apng", None, None),
    Preset("GIF, best colours (large)", "gif", None, None),
    Preset("ProRes 422 HQ .mov for editors", "mov", None, None),
    Preset("PNG sequence for editors", "png", None, None),
)


def scaled_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    width, height = size
    if max_side is None or max(width, height) <= max_side:
        return size
    scale = max_side / max(width, height)
    # Rounded as --size and the size fields round (a 2048x64 morph for the web: 480x32, not 480x16).
    return round_side(width * scale), round_side(height * scale)


EXTENSIONS = {fmt.extension.lower() for fmt in FORMATS.values() if not fmt.is_folder}


def _writable_folder(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def default_export_base(
    project_path: Path | None, keyframes: Sequence[AnyKeyframe], fallback_dir: Path
) -> Path:
    """Where an export is offered, without its extension (issue 24): next to the saved project and
    named after it (trip.json -> trip), else in the first image keyframe's folder named after the
    first and last ones (cat.png ... dog.png -> cat-dog), else ``fallback_dir``/morph. A folder that
    cannot be written to (a read-only card, a shared folder) is passed over."""
    if project_path is not None and _writable_folder(project_path.parent):
        return project_path.parent / project_path.stem
    images = [k.path for k in keyframes if isinstance(k, Keyframe)]
    if images and _writable_folder(images[0].parent):
        first, last = images[0].stem, images[-1].stem
        return images[0].parent / (f"{first}-{last}" if first != last else f"{first}-morph")
    return fallback_dir / "morph"


def with_extension(base: Path, fmt: ExportFormat) -> Path:
    """``base`` with the format's extension added (not swapped in: "trip.v2" stays whole)."""
    return base if fmt.is_folder else base.with_name(base.name + fmt.extension)


def without_extension(path: Path) -> Path:
    """``path`` less an export extension it ends with (a typed "my.take.gif" -> "my.take")."""
    return path.with_suffix("") if path.suffix.lower() in EXTENSIONS else path


def free_path(path: Path) -> Path:
    """``path`` if nothing is there, else the first free ``name 2.ext``, ``name 3.ext``…"""
    if not path.exists():
        return path
    stem, suffix = (path.stem, path.suffix) if path.suffix.lower() in EXTENSIONS else (path.name, "")
    number = 2
    while (candidate := path.with_name(f"{stem} {number}{suffix}")).exists():
        number += 1
    return candidate


class ExportDialog(QDialog):
    """Collects export options, runs the export on the engine thread and reports the result."""

    start_export = Signal(object)  # ExportJob

    def __init__(
        self, project: Project, choice: ModelChoice, worker: EngineWorker, default_base: Path,
        parent: QWidget | None = None, preferences: QSettings | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("Export morph")
        self.setObjectName("exportDialog")
        self.project = project
        self.choice = choice
        self.job: ExportJob | None = None
        self.written: Path | None = None
        self._notes: list[str] = []  # the export's notes (music left out or changed), shown at its end
        # Offered without an extension (each preset adds its own, to a name that is free); while
        # the field shows what was offered, a preset change offers again.
        self.default_base = default_base
        self._offered: str | None = None
        self._confirmed: Path | None = None  # a file the save dialog already asked to replace

        self.preset = QComboBox()
        for preset in PRESETS:
            self.preset.addItem(preset.label, preset)
        self.width_spin = SizeSpinBox()  # the engine's limits and rounding, as the settings panel
        self.height_spin = SizeSpinBox()
        size_row = QHBoxLayout()
        size_row.setContentsMargins(0, 0, 0, 0)
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        size_widget = QWidget()
        size_widget.setLayout(size_row)
        self.fps = fps_field()
        # GIF only: one palette per frame or one for the whole morph (smaller), and dithering.
        self.gif_palette = QComboBox()
        self.gif_palette.setObjectName("gifPalette")
        self.gif_palette.addItem("One per frame (best colours)", "per-frame")
        self.gif_palette.addItem("One for the whole morph (smaller file)", "global")
        self.gif_dither = QComboBox()
        self.gif_dither.setObjectName("gifDither")
        self.gif_dither.addItem("Floyd–Steinberg (smooth gradients)", "floyd-steinberg")
        self.gif_dither.addItem("None (flat colours, smaller)", "none")
        self.gif_dither.addItem("Ordered (a steady dot pattern: no shimmer, smallest)", "ordered")
        # Where the frames are made: here, or on Ray (a local instance, or a cluster's address),
        # remembered in the preferences (the cluster extra: pip install "morphapp[cluster]").
        self.preferences = preferences
        self.render_on = QComboBox()
        self.render_on.setObjectName("exportRenderOn")
        self.render_on.addItem("This computer", "here")
        self.render_on.addItem("Ray cluster", "ray")
        self.cluster = QLineEdit()
        self.cluster.setObjectName("exportCluster")
        self.cluster.setPlaceholderText("local:2, or a cluster's HOST:PORT (ray start --head prints it)")
        self.cluster.setToolTip(
            "local:N starts a Ray instance here that only this program can use (Ray makes a token). "
            "A joined cluster runs whatever code its drivers send: start every node, and this app, with "
            "RAY_AUTH_MODE=token and the same RAY_AUTH_TOKEN, or anyone on the network can use it."
        )
        if preferences is not None:
            self.cluster.setText(str(preferences.value("export_cluster", "")))
            self.render_on.setCurrentIndex(1 if preferences.value("export_on_ray", False, type=bool) else 0)
        self.render_on.currentIndexChanged.connect(self._render_on_changed)
        self.destination = QLineEdit()
        self.destination.setObjectName("exportDestination")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        dest_row = QHBoxLayout()
        dest_row.setContentsMargins(0, 0, 0, 0)
        dest_row.addWidget(self.destination, 1)
        dest_row.addWidget(browse)
        dest_widget = QWidget()
        dest_widget.setLayout(dest_row)

        self.progress = QProgressBar()
        self.progress.setObjectName("exportProgress")
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.show_button = self.buttons.addButton("Show in folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.setVisible(False)
        self.export_button.clicked.connect(self.run_export)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.show_button.clicked.connect(self.show_in_folder)

        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow("Size", size_widget)
        form.addRow("FPS", self.fps)
        form.addRow("GIF palette", self.gif_palette)
        form.addRow("Dithering", self.gif_dither)
        form.addRow("Render on", self.render_on)
        form.addRow("Cluster", self.cluster)
        self._form = form
        form.addRow("Save to", dest_widget)
        # Off by default: an export posted online must not say where the artist's photos live.
        self.embed_project = QCheckBox("Embed the project in the file")
        self.embed_project.setObjectName("embedProject")
        self.embed_project.setToolTip(
            "Stores the whole project in the export so it opens as the project again. It reveals the "
            "pictures' file names, folders and content fingerprints, prompts and music. Without it the "
            "file carries only morphapp's name, version and the morph's settings."
        )
        form.addRow("", self.embed_project)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

        self.preset.currentIndexChanged.connect(self.apply_preset)
        worker.export_progress.connect(self.on_progress)
        worker.export_done.connect(self.on_done)
        worker.export_failed.connect(self.on_failed)
        worker.export_cancelled.connect(self.on_cancelled)
        worker.export_note.connect(self.on_note)
        self.apply_preset()
        self._render_on_changed()

    def _render_on_changed(self) -> None:
        self._form.setRowVisible(self.cluster, self.render_on.currentData() == "ray")

    def on_note(self, line: str) -> None:
        if self.job is not None:
            line = in_window_terms(line)
            self._notes.append(line)  # kept for the final message: "Saved" must not hide them
            self.message.setText(f"Exporting… {line}")

    def current_preset(self) -> Preset:
        return self.preset.currentData()

    def apply_preset(self) -> None:
        preset = self.current_preset()
        width, height = scaled_size(self.project.settings.size, preset.max_side)
        self.width_spin.setValue(width)
        self.height_spin.setValue(height)
        self.fps.setValue(preset.fps or self.project.settings.fps)
        fmt = FORMATS[preset.format]
        for widget in (self.gif_palette, self.gif_dither):
            self._form.setRowVisible(widget, fmt.writer == "gif")
        if fmt.writer == "gif":  # the preset's own palette and dither, changeable
            for widget, key in ((self.gif_palette, "palette"), (self.gif_dither, "dither")):
                widget.setCurrentIndex(max(0, widget.findData(self._gif_defaults(fmt)[key])))
        text = self.destination.text()
        if not text or text == self._offered:
            self._offer(fmt)
        else:  # the artist's own name keeps its name, with the preset's extension
            self.destination.setText(str(with_extension(without_extension(Path(text)), fmt)))

    def _offer(self, fmt: ExportFormat) -> None:
        """Offer the default destination, never an existing file: "trip 2.gif" if "trip.gif" is there."""
        self._offered = str(free_path(with_extension(self.default_base, fmt)))
        self.destination.setText(self._offered)

    @staticmethod
    def _gif_defaults(fmt: ExportFormat) -> dict[str, str]:
        """A GIF preset's palette and dither (the writer's defaults where the preset names none)."""
        return {"palette": "per-frame", "dither": "floyd-steinberg"} | {
            key: fmt.options[key] for key in ("palette", "dither") if key in fmt.options
        }

    def browse(self) -> None:
        fmt = FORMATS[self.current_preset().format]
        if fmt.is_folder:
            chosen = QFileDialog.getExistingDirectory(
                self, "Export PNG frames to folder", self.destination.text()
            )
        else:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export morph", self.destination.text(), f"{fmt.description} (*{fmt.extension})"
            )
        if chosen:
            self.destination.setText(chosen)
            self._confirmed = None if fmt.is_folder else Path(chosen)  # the save dialog asked

    def build_job(self) -> ExportJob:
        settings = dataclasses.replace(
            self.project.settings,
            size=(round_side(self.width_spin.value()), round_side(self.height_spin.value())),
            fps=self.fps.value(),
        )
        project = dataclasses.replace(self.project, settings=settings)
        target = Path(self.destination.text()).expanduser()
        fmt = self.current_preset().format
        options = {}
        if FORMATS[fmt].writer == "gif":  # only what differs from the preset: the rest is the preset's
            chosen = {"palette": self.gif_palette.currentData(), "dither": self.gif_dither.currentData()}
            defaults = self._gif_defaults(FORMATS[fmt])
            options = {key: value for key, value in chosen.items() if value != defaults[key]}
        cluster = self.cluster.text().strip() if self.render_on.currentData() == "ray" else None
        return ExportJob(
            project, target, fmt, self.fps.value(), self.choice, options=options, cluster=cluster,
            embed_project=self.embed_project.isChecked(),
        )  # fmt: skip

    def run_export(self) -> None:
        if not self.destination.text().strip():
            self.message.setText("Choose where to save the export.")
            return
        if not self.may_write(Path(self.destination.text().strip()).expanduser()):
            self.message.setText("Not exported: choose another name, or confirm replacing the file.")
            return
        if self.render_on.currentData() == "ray":
            from morphapp.cluster.options import parse_cluster  # only a parser: Ray is not imported

            try:
                parse_cluster(self.cluster.text())
            except MorphError as exc:
                self.message.setText(str(exc))
                return
        if self.preferences is not None:
            self.preferences.setValue("export_on_ray", self.render_on.currentData() == "ray")
            self.preferences.setValue("export_cluster", self.cluster.text().strip())
        self.job = self.build_job()
        self.written = None
        self._notes = []
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the first frame (model load, keyframe encode)
        self.message.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.show_button.setVisible(False)
        self.start_export.emit(self.job)

    def may_write(self, target: Path) -> bool:
        """Never replace a file silently: one that is there already is replaced only when the
        artist says so (here, or in the save dialog). A folder's export replaces only an earlier
        export of frames (the PNG-sequence writer refuses a folder with other files)."""
        if not target.is_file() or target == self._confirmed:
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Replace the file?", f"{target.name} already exists in {target.parent}. Replace it?",
            buttons.Yes | buttons.No, buttons.No,
        )  # fmt: skip
        return answer == buttons.Yes

    def cancel_or_close(self) -> None:
        if self.job is not None:
            self.job.cancel.cancel()
            self.message.setText("Cancelling…")
        else:
            self.reject()

    def on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finish(self, message: str) -> None:
        self.job = None
        self.export_button.setEnabled(True)
        self.message.setText("\n".join([message, *self._notes]))

    def on_done(self, path: str) -> None:
        self.written = Path(path)
        self._finish(f"Saved {path}")
        self.show_button.setVisible(True)
        self.cancel_button.setText("Close")
        if self.destination.text() == self._offered:  # a second Export here makes a new file
            self._offer(FORMATS[self.current_preset().format])

    def on_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self._finish(f"Export failed: {in_window_terms(message)}")

    def on_cancelled(self) -> None:
        self.progress.setVisible(False)
        self._finish("Export cancelled; nothing was written.")

    def show_in_folder(self) -> None:
        if self.written is not None:
            folder = self.written if self.written.is_dir() else self.written.parent
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
