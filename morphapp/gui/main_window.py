"""The main window: keyframe strip, preview, settings, menus, projects, autosave."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.keyframes import ExprKeyframe, Keyframe, image_files
from morphapp.core.domain.point_origins import AUTO, segment_origins, stored_origins
from morphapp.core.imaging.load import open_image
from morphapp.errors import MorphError, as_installed
from morphapp.gui.about import AboutDialog, version_report
from morphapp.gui.align_job import AlignRunner
from morphapp.gui.align_status import AlignStatus
from morphapp.gui.autosave import Autosave
from morphapp.gui.document import Document
from morphapp.gui.engine_worker import ModelChoice
from morphapp.gui.error_bar import ErrorBar
from morphapp.gui.export_dialog import ExportDialog, default_export_base
from morphapp.gui.expression_dialog import ExpressionDialog
from morphapp.gui.help_dialogs import HELP_LABEL, GettingStartedDialog, ShortcutsDialog, action_keys
from morphapp.gui.keyframe_strip import IMAGE_FILTER, KeyframeStrip, image_paths_from_urls
from morphapp.gui.model_setup import ModelSetupDialog
from morphapp.gui.music_strip import MusicPanel
from morphapp.gui.music_sync import MusicSync
from morphapp.gui.point_editor import PointEditor
from morphapp.gui.preview_controller import EngineThread, PreviewController
from morphapp.gui.preview_view import PreviewPanel
from morphapp.gui.settings_panel import SettingsPanel
from morphapp.gui.wording import in_window_terms

PROJECT_FILTER = "morphapp projects (*.json)"
MAX_RECENT = 8
AUTOSAVE_MS = 15_000


class MainWindow(QMainWindow):
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
        self.drop_aligner = AlignRunner(self)

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
        self._build_menus()
        self._connect()
        self._restore_settings()
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()
        self.update_title()
        self.statusBar().showMessage("Drop two or more images to start a morph")

    # -- construction --------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New", self.new_project, QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.save_action = self._action(file_menu, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save &As…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        file_menu.addSeparator()
        self.add_images_action = self._action(
            file_menu, "&Add Images…", self.add_images_dialog, QKeySequence("Ctrl+I")
        )
        self._action(file_menu, "Add &Prompt Keyframe…", self.add_prompt, QKeySequence("Ctrl+T"))
        self._action(
            file_menu, "Add E&xpression Keyframe…", self.add_expression, QKeySequence("Ctrl+Shift+E")
        )
        self._action(
            file_menu, "Add &Music…", lambda: self.music.add_music_dialog(self), QKeySequence("Ctrl+M")
        )
        self.remove_music_action = self._action(
            file_menu, "Remove Music", lambda: self.document.set_audio(None)
        )
        self.export_action = self._action(file_menu, "&Export…", self.open_export, QKeySequence("Ctrl+E"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
        undo.setProperty(HELP_LABEL, "Undo")  # their text names the step ("Undo Add 2 keyframes")
        redo.setProperty(HELP_LABEL, "Redo")
        self.undo_action = undo
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self._action(edit_menu, "&Remove Keyframe", lambda: self.remove_keyframe(self.strip.currentRow()))
        edit_menu.addSeparator()
        self.points_action = self._action(
            edit_menu, "Correspondence &Points…", self.open_point_editor, QKeySequence("Ctrl+P")
        )
        self.auto_align_action = self._action(
            edit_menu, "&Auto-align New Keyframes", self._auto_align_toggled
        )
        self.auto_align_action.setCheckable(True)
        # On by default: a dropped pair of portraits lines up without a click (faces, else features).
        self.auto_align_action.setChecked(self.qsettings.value("auto_align_new", True, type=bool))

        play_menu = self.menuBar().addMenu("&Playback")
        self.play_action = self._action(
            play_menu, "&Play / Pause", self.preview_panel.toggle_play, QKeySequence(Qt.Key.Key_Space)
        )
        self.next_action = self._action(
            play_menu, "&Next Frame", lambda: self.preview_panel.step(1), QKeySequence(Qt.Key.Key_Right)
        )
        self.previous_action = self._action(
            play_menu, "P&revious Frame", lambda: self.preview_panel.step(-1), QKeySequence(Qt.Key.Key_Left)
        )
        help_menu = self.menuBar().addMenu("&Help")
        self._action(
            help_menu, "&Getting Started", self.show_getting_started, QKeySequence.StandardKey.HelpContents
        )
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts)
        self._action(help_menu, "Copy &Version Info", self.copy_version_info)
        help_menu.addSeparator()
        self._action(help_menu, "&About morphapp", self.show_about)
        self._refresh_recent()

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
        self.drop_aligner.finished.connect(self._drop_aligned)
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

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help ▸ Keyboard Shortcuts: read from the menus' actions as they are now."""
        dialog = ShortcutsDialog(self.menuBar(), self)
        dialog.open()
        return dialog

    def show_getting_started(self) -> GettingStartedDialog:
        actions = {
            "add": self.add_images_action, "play": self.play_action, "next": self.next_action,
            "previous": self.previous_action, "points": self.points_action, "export": self.export_action,
            "save": self.save_action, "undo": self.undo_action,
        }  # fmt: skip
        dialog = GettingStartedDialog({name: action_keys(a) for name, a in actions.items()}, self)
        dialog.open()
        return dialog

    def copy_version_info(self) -> str:
        """Help ▸ Copy Version Info: the About versions and the device, for a bug report. Not the
        model's name (a model opened from a file is named after it) nor any keyframe's."""
        from morphapp.core.render.device import describe_device, resolve_device

        asked = self.preview.choice.device or "auto"
        try:
            device = describe_device(resolve_device(asked))
        except MorphError as exc:
            device = f"{asked} (unavailable: {exc})"
        device += f" (setting: {asked})"
        picked = self.engine.worker.backend_choice
        if picked is not None:
            device += f", {picked.label}"
        text = version_report(device)
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(
            "Version info copied to the clipboard (" + text.splitlines()[0] + "): paste it into a bug report",
            10_000,
        )
        return text

    def show_about(self) -> AboutDialog:
        in_use = self.model_label.text().removeprefix("Model: ")
        if in_use == "not loaded":
            from morphapp.core.render.device import describe_device, resolve_device

            in_use = f"{describe_device(resolve_device('auto'))} (no model loaded yet)"
        device = in_use
        dialog = AboutDialog(device, self)
        dialog.open()
        return dialog

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

    # -- keyframes -----------------------------------------------------------------------------
    def add_images(self, paths: list[Path], index: int | None = None) -> bool:
        """Add images (the same path a drop takes). A bad image changes nothing and says why."""
        checked: list[Path] = []
        for path in map(Path, paths):
            try:
                open_image(path)
            except MorphError as exc:
                self.show_error(str(exc))
                return False
            checked.append(path)
        if checked:
            self.document.add_keyframes(checked, index)
            self.qsettings.setValue("last_image_dir", str(checked[-1].parent))
            self.error_bar.hide()
            self.auto_align_new()
        return True

    def _auto_align_toggled(self, on: bool) -> None:
        self.qsettings.setValue("auto_align_new", on)

    def auto_align_new(self) -> None:
        """With the setting on: find points, off the GUI thread, for segments that have none."""
        keyframes = self.document.keyframes
        if not self.auto_align_action.isChecked() or len(keyframes) < 2:
            return
        if not all(isinstance(k, Keyframe) for k in keyframes):
            return  # points belong to images
        settings = dataclasses.replace(self.document.settings, points=None, segments=None)
        self.statusBar().showMessage("Auto-aligning the new keyframes…")
        self.align_status.working()
        self.drop_aligner.start(keyframes, settings, tag=tuple(keyframes))

    def _drop_aligned(self, tag: object, found: object, text: str) -> None:
        if found is None or tag != tuple(self.document.keyframes):
            if self.align_status.about is None:
                self.align_status.clear_result()  # "Aligning…" no more
            return  # cancelled, or the keyframes changed meanwhile (a later drop aligns again)
        settings = self.document.settings
        existing = list(settings.points or ())
        found_points = list(found)  # type: ignore[call-overload]
        existing += [()] * (len(found_points) - len(existing))
        merged = [old if old else new for old, new in zip(existing, found_points, strict=False)]
        if any(merged) and merged != existing[: len(merged)]:
            # Only empty segments are filled: their pairs are automatic, the others keep their origins.
            origins = [
                segment_origins(settings.points, settings.point_origins, i) if old else (AUTO,) * len(new)
                for i, (old, new) in enumerate(zip(existing, found_points, strict=False))
            ]
            self.document.set_settings(
                "Auto-align", points=tuple(merged), point_origins=stored_origins(merged, origins)
            )
        # In words on the status bar; the figures in its tooltip (issue 24: no jargon up front).
        lines = text.replace("segment ", "Segment ").splitlines()
        words = [line for line in lines if "auto-align:" not in line and "semantic features:" not in line]
        self.statusBar().showMessage("; ".join(words or lines), 10_000)
        self.statusBar().setToolTip("\n".join(lines))
        self.align_status.show_result(
            "; ".join(words or lines),
            "\n".join(lines),
            tuple(self.document.keyframes),
            self.document.settings.points,
        )

    def add_images_dialog(self) -> None:
        start = str(self.qsettings.value("last_image_dir", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(self, "Add keyframe images", start, IMAGE_FILTER)
        if files:
            self.add_images([Path(f) for f in files])

    def add_prompt(self, text: str | None = None) -> bool:
        """A text keyframe at the end (diffusion models). ``text`` None: ask for it."""
        if not self.settings_panel.uses_diffusion():
            self.show_error(
                "Prompt keyframes need a Stable Diffusion model: choose one in Model (a diffusers folder or "
                ".safetensors checkpoint in your model folders)."
            )
            return False
        if text is None:
            text, ok = QInputDialog.getText(self, "Add prompt keyframe", "Describe the picture:")
            if not ok:
                return False
        try:
            self.document.add_prompt_keyframe(text)
        except MorphError as exc:
            self.show_error(str(exc))
            return False
        self.error_bar.hide()
        return True

    def add_expression(self) -> bool:
        """An expression keyframe (latent arithmetic) at the end, from the expression editor."""
        dialog = ExpressionDialog(self)
        if dialog.exec() != ExpressionDialog.DialogCode.Accepted or dialog.keyframe is None:
            return False
        self.document.add_expression_keyframe(dialog.keyframe)
        self.error_bar.hide()
        return True

    def edit_keyframe(self, index: int) -> None:
        """A double-clicked expression keyframe opens the editor on its expression."""
        keyframes = self.document.keyframes
        if not 0 <= index < len(keyframes) or not isinstance(keyframes[index], ExprKeyframe):
            return
        dialog = ExpressionDialog(self, start=keyframes[index])  # type: ignore[arg-type]
        if dialog.exec() == ExpressionDialog.DialogCode.Accepted and dialog.keyframe is not None:
            self.document.replace_keyframe(index, dialog.keyframe)

    def _denoise_step(self, generation: int, label: str, step: int, total: int, image: object) -> None:
        """A diffusion model's step: progress in the status bar, and the step's preview if any."""
        if generation not in (-1, self.preview.generation):
            return
        self.statusBar().showMessage(f"Denoising {label}: step {step}/{total}", 3000)
        if isinstance(image, QImage) and generation != -1:
            self.preview_panel.show_provisional(image)

    def remove_keyframe(self, index: int) -> None:
        if 0 <= index < len(self.document.keyframes):
            self.document.remove_keyframe(index)

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

    # -- projects ------------------------------------------------------------------------------
    def new_project(self) -> None:
        if self.confirm_discard():
            self.document.clear()

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = str(self.qsettings.value("last_project_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path) -> bool:
        try:
            notes = self.document.load(path)
        except MorphError as exc:
            self.show_error(str(exc))
            return False
        missing = [k.path.name for k in image_files(self.document.keyframes) if not k.path.is_file()]
        if missing:
            notes.insert(0, f"{path.name}: keyframe images not found: {', '.join(missing)}")
        if notes:
            self.show_error("\n".join(notes))
        self._remember(path)
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        start = str(
            self.document.path
            or Path(str(self.qsettings.value("last_project_dir", Path.home()))) / "morph.json"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        return self.save_to(Path(path)) if path else False

    def save_to(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        try:
            self.document.save(path)
        except MorphError as exc:
            self.show_error(str(exc))
            return False
        self.autosave.discard()
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def confirm_discard(self) -> bool:
        if not self.document.dirty or not self.ask_before_close:
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this morph first?",
            buttons.Save | buttons.Discard | buttons.Cancel,
        )  # fmt: skip
        if answer == buttons.Save:
            return self.save()
        return answer == buttons.Discard

    def _remember(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.qsettings.setValue("recent", recent[:MAX_RECENT])
        self.qsettings.setValue("last_project_dir", str(path.parent))
        self._refresh_recent()

    def _recent(self) -> list[str]:
        value = self.qsettings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self._recent():
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(
                lambda _c=False, p=entry: self.confirm_discard() and self.open_project(Path(p))
            )
        self.recent_menu.setEnabled(bool(self._recent()))

    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model file", str(Path.home()), "Models (*.safetensors *.pth *.pt)"
        )
        if path:
            self.document.set_model(path)
            self.preview.set_choice(ModelChoice(path, self.preview.choice.device))

    def autosave_now(self) -> None:
        if self.document.dirty and self.document.keyframes:
            try:
                self.autosave.save(self.document.project_for_saving())
            except MorphError as exc:
                self.statusBar().showMessage(f"Autosave failed: {exc}", 10_000)

    def offer_recovery(self) -> None:
        recovered = self.autosave.start_session()
        if recovered is None:
            return
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"morphapp did not close properly last time. Recover the unsaved morph with "
            f"{len(recovered.keyframes)} keyframes?",
        )  # fmt: skip
        if answer == QMessageBox.StandardButton.Yes:
            self.document.restore(recovered)
        else:
            self.autosave.discard()

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
        self.drop_aligner.stop()
        self.music.stop()
        if self.point_editor is not None:
            self.point_editor.aligner.stop()
        self.engine.stop()
        self.autosave.end_session()
        event.accept()
