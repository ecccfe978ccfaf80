"""The main window: lays out the keyframe strip, preview, music and settings, and wires them up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.keyframes import Keyframe
from morphapp.errors import as_installed
from morphapp.gui import help_commands
from morphapp.gui.about import AboutDialog
from morphapp.gui.align_status import AlignStatus
from morphapp.gui.autosave import Autosave
from morphapp.gui.document import Document
from morphapp.gui.engine_worker import ModelChoice
from morphapp.gui.error_bar import ErrorBar
from morphapp.gui.export_dialog import ExportDialog, default_export_base
from morphapp.gui.help_dialogs import GettingStartedDialog, ShortcutsDialog
from morphapp.gui.keyframe_commands import KeyframeCommands
from morphapp.gui.keyframe_strip import KeyframeStrip, image_paths_from_urls
from morphapp.gui.model_setup import ModelSetupDialog
from morphapp.gui.music_strip import MusicPanel
from morphapp.gui.music_sync import MusicSync
from morphapp.gui.new_keyframe_align import NewKeyframeAligner
from morphapp.gui.point_editor import PointEditor
from morphapp.gui.preview_controller import EngineThread, PreviewController
from morphapp.gui.preview_view import PreviewPanel
from morphapp.gui.project_files import ProjectFiles
from morphapp.gui.settings_panel import SettingsPanel
from morphapp.gui.window_menus import build_menus
from morphapp.gui.wording import in_window_terms


class MainWindow(QMainWindow):
    # Set by window_menus.build_menus: the actions that other parts (help, tests) reach.
    recent_menu: QMenu
    save_action: QAction
    add_images_action: QAction
    remove_music_action: QAction
    export_action: QAction
    undo_action: QAction
    points_action: QAction
    auto_align_action: QAction
    play_action: QAction
    next_action: QAction
    previous_action: QAction

    def __init__(self, settings: QSettings | None = None, autosave: Autosave | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.qsettings = settings or QSettings("morphapp", "morphapp")
        self.autosave = autosave or Autosave()
        self.ask_before_close = True
        self.offer_model_download = True  # False: say "no model" only (screenshots, no one to ask)
        self.document = Document(self)
        self.engine = EngineThread(self)
        self.preview = PreviewController(self.document, self.engine, self)
        self.export_dialog: ExportDialog | None = None
        self.model_setup: ModelSetupDialog | None = None
        self.point_editor: PointEditor | None = None

        self.error_bar = ErrorBar()
        self.preview_panel = PreviewPanel(self.preview)
        self.strip = KeyframeStrip()
        self.settings_panel = SettingsPanel(self.document)
        scroll = QScrollArea()
        scroll.setWidget(self.settings_panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.error_bar)
        left_layout.addWidget(self.preview_panel, 1)
        self.music_panel = MusicPanel()
        left_layout.addWidget(self.music_panel)
        left_layout.addWidget(QLabel("Keyframes"))
        left_layout.addWidget(self.strip)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        self.setCentralWidget(splitter)
        self.align_status = AlignStatus()  # auto-align's words stay in view while the preview renders
        self.statusBar().addPermanentWidget(self.align_status)
        self.model_label = QLabel("Model: not loaded")
        self.statusBar().addPermanentWidget(self.model_label)
        self.setAcceptDrops(True)

        self.music = MusicSync(
            self.document, self.preview, self.preview_panel, self.music_panel, show_error=self.show_error,
            show_status=lambda line: self.statusBar().showMessage(line, 10_000), parent=self,
        )  # fmt: skip
        self.project_files = ProjectFiles(self)
        self.new_keyframe_aligner = NewKeyframeAligner(self)
        self.keyframe_commands = KeyframeCommands(self)
        build_menus(self)
        self._connect()
        self._restore_settings()
        self.project_files.start_autosave()
        self.update_title()
        self.statusBar().showMessage("Drop two or more images to start a morph")

    def _connect(self) -> None:
        doc = self.document
        doc.changed.connect(lambda: self.strip.set_keyframes(doc.keyframes))
        doc.changed.connect(lambda: self.export_action.setEnabled(doc.can_render()))
        doc.changed.connect(lambda: self.remove_music_action.setEnabled(doc.audio is not None))
        doc.path_changed.connect(self.update_title)
        doc.changed.connect(lambda: self.align_status.follow(tuple(doc.keyframes), doc.settings.points))
        self.strip.files_dropped.connect(lambda paths, at: self.add_images(paths, at))
        self.strip.moved.connect(doc.move_keyframe)
        self.strip.remove_requested.connect(self.remove_keyframe)
        self.strip.edit_requested.connect(self.edit_keyframe)
        self.preview.status.connect(self.statusBar().showMessage)
        self.preview.error.connect(self.show_error)
        self.preview.finished.connect(
            lambda _s: self.error_bar.hide() if "preview" in self.error_bar.text else None
        )
        self.engine.worker.model_ready.connect(self._model_ready)
        self.engine.worker.backend_picked.connect(self._backend_picked)
        self.engine.worker.model_missing.connect(self.offer_model_setup)
        self.settings_panel.model_choice_changed.connect(self._choice_changed)
        self.settings_panel.open_model_file.connect(self.open_model_file)
        self.settings_panel.add_prompt_requested.connect(self.add_prompt)
        self.engine.worker.step_ready.connect(self._denoise_step)
        self.export_action.setEnabled(False)
        self.remove_music_action.setEnabled(False)

    # -- errors and status ---------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        message = in_window_terms(as_installed(message))  # fields, not the CLI's flags
        self.error_bar.show_message(message)
        self.statusBar().showMessage("Error: " + message.splitlines()[0], 10_000)

    def _model_ready(self, text: str) -> None:
        self.model_label.setText(f"Model: {text}")
        self.settings_panel.set_in_use(text)

    def _backend_picked(self, text: str) -> None:
        """A calibrated backend choice (just measured or cached): its figures, for a while."""
        self.model_label.setToolTip(text)
        self.statusBar().showMessage(f"Model {text}", 10_000)

    def _choice_changed(self, choice: ModelChoice) -> None:
        self.qsettings.setValue("device", choice.device)
        self.preview.set_choice(
            ModelChoice(choice.model or self.default_model(), choice.device, choice.dtype)
        )

    def default_model(self) -> str | None:
        """The model chosen at first run (downloaded or browsed to), used when a project names none."""
        value = self.qsettings.value("default_model")
        return str(value) if value else None

    def offer_model_setup(self, generation: int, message: str) -> None:
        """No model at all (the built-in one removed or damaged): offer a download or a file on disk."""
        self.show_error(message)
        if not self.offer_model_download:
            return
        if generation != self.preview.generation or self.model_setup is not None:
            return
        self.model_setup = ModelSetupDialog(message, self)
        self.model_setup.model_ready.connect(self.use_default_model)
        self.model_setup.open()

    def use_default_model(self, model: str) -> None:
        self.qsettings.setValue("default_model", model)
        self.error_bar.hide()
        self.settings_panel.refresh_models()
        self.statusBar().showMessage(f"Model {model} is ready", 5000)
        self.preview.set_choice(ModelChoice(self.document.model or model, self.preview.choice.device))

    # -- Help menu (help_commands.py; kept here for the tests that open them) -------------------
    def show_shortcuts(self) -> ShortcutsDialog:
        return help_commands.show_shortcuts(self)

    def show_getting_started(self) -> GettingStartedDialog:
        return help_commands.show_getting_started(self)

    def show_about(self) -> AboutDialog:
        return help_commands.show_about(self)

    def open_paths(self, paths: list[Path]) -> bool:
        """Files given on the command line (a double-clicked project, images dropped on the icon):
        one project opens; images become keyframes. False (with the message shown) on a bad one."""
        projects = [p for p in paths if p.suffix.lower() == ".json"]
        if projects:
            if len(paths) > 1:
                self.show_error("give one project, or images, not both")
                return False
            return self.open_project(projects[0])
        return self.add_images(paths) if paths else True

    def update_title(self) -> None:
        name = self.document.path.name if self.document.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — morphapp")  # Qt shows [*] as a mark while modified
        self.setWindowModified(self.document.dirty)

    # -- keyframes (keyframe_commands.py; kept here: the strip, app and tests call them) ---------
    def add_images(self, paths: list[Path], index: int | None = None) -> bool:
        return self.keyframe_commands.add_images(paths, index)

    def add_prompt(self, text: str | None = None) -> bool:
        return self.keyframe_commands.add_prompt(text)

    def add_expression(self) -> bool:
        return self.keyframe_commands.add_expression()

    def edit_keyframe(self, index: int) -> None:
        self.keyframe_commands.edit_keyframe(index)

    def remove_keyframe(self, index: int) -> None:
        self.keyframe_commands.remove_keyframe(index)

    def _denoise_step(self, generation: int, label: str, step: int, total: int, image: object) -> None:
        """A diffusion model's step: progress in the status bar, and the step's preview if any."""
        if generation not in (-1, self.preview.generation):
            return
        self.statusBar().showMessage(f"Denoising {label}: step {step}/{total}", 3000)
        if isinstance(image, QImage) and generation != -1:
            self.preview_panel.show_provisional(image)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = image_paths_from_urls(event.mimeData().urls())
        projects = [p for p in paths if p.suffix.lower() == ".json"]
        if projects:
            self.open_project(projects[0])
        elif paths:
            self.add_images(paths)
        event.acceptProposedAction()

    # -- projects (project_files.py; kept here: app.py, file_open.py and tests call them) --------
    def new_project(self) -> None:
        self.project_files.new_project()

    def open_project(self, path: Path) -> bool:
        return self.project_files.open_project(path)

    def save_to(self, path: Path) -> bool:
        return self.project_files.save_to(path)

    def confirm_discard(self) -> bool:
        return self.project_files.confirm_discard()

    def autosave_now(self) -> None:
        self.project_files.autosave_now()

    def offer_recovery(self) -> None:
        self.project_files.offer_recovery()

    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model file", str(Path.home()), "Models (*.safetensors *.pth *.pt)"
        )
        if path:
            self.document.set_model(path)
            self.preview.set_choice(ModelChoice(path, self.preview.choice.device))

    def open_point_editor(self) -> None:
        """Shape-aware morphs: place corresponding points on neighbouring keyframes."""
        if not self.document.can_render():
            self.show_error("Add two or more images before placing points.")
            return
        if not all(isinstance(k, Keyframe) for k in self.document.keyframes):
            self.show_error(
                "Correspondence points join images: remove the prompt and expression keyframes to place them."
            )
            return
        if self.point_editor is None:
            self.point_editor = PointEditor(self.document, self)
        self.point_editor.show()
        self.point_editor.raise_()

    # -- export --------------------------------------------------------------------------------
    def open_export(self) -> None:
        if not self.document.can_render():
            self.show_error("Add two or more images before exporting.")
            return
        # Next to the project or the first picture (issue 24); else where it always was.
        fallback = Path(str(self.qsettings.value("last_export_dir", str(Path.home()))))
        default_base = default_export_base(self.document.path, self.document.keyframes, fallback)
        dialog = ExportDialog(
            self.document.project_for_saving(),
            self.preview.model_choice(),
            self.engine.worker,
            default_base,
            self,
            preferences=self.qsettings,
        )
        dialog.start_export.connect(self.preview.export_job)
        dialog.finished.connect(lambda _r: self.preview.render_missing())  # the export paused the preview
        self.export_dialog = dialog
        dialog.open()

    # -- lifetime ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.qsettings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        device = str(self.qsettings.value("device", "auto"))
        index = self.settings_panel.device.findData(device)
        if index >= 0:
            self.settings_panel.device.setCurrentIndex(index)
        self.preview.set_choice(ModelChoice(self.default_model(), self.settings_panel.device.currentData()))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.qsettings.setValue("geometry", self.saveGeometry())
        self.preview.cancel()
        if self.export_dialog is not None and self.export_dialog.job is not None:
            self.export_dialog.job.cancel.cancel()
        if self.model_setup is not None:
            self.model_setup.done(0)  # stops its download thread before the window goes
        self.new_keyframe_aligner.stop()
        self.music.stop()
        if self.point_editor is not None:
            self.point_editor.aligner.stop()
        self.engine.stop()
        self.autosave.end_session()
        event.accept()
