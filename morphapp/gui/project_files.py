"""Project files for the main window: new, open, save, save as, recent files, autosave, recovery."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from morphapp.core.domain.keyframes import image_files
from morphapp.errors import MorphError
from morphapp.gui.stored_settings import setting_strings

if TYPE_CHECKING:
    from morphapp.gui.main_window import MainWindow

PROJECT_FILTER = "morphapp projects (*.json)"
MAX_RECENT = 8
AUTOSAVE_MS = 15_000


class ProjectFiles(QObject):
    """The window's document to and from project files. Reads ``window.ask_before_close`` each
    time it would ask, since the app and tests switch the question off after start-up."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.qsettings = window.qsettings
        self._autosave_timer = QTimer(window, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)

    def start_autosave(self) -> None:
        self._autosave_timer.start()

    # -- open and save -------------------------------------------------------------------------
    def new_project(self) -> None:
        if self.confirm_discard():
            self.document.clear()

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = str(self.qsettings.value("last_project_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path) -> bool:
        try:
            notes = self.document.load(path)
        except MorphError as exc:
            self.window.show_error(str(exc))
            return False
        missing = [k.path.name for k in image_files(self.document.keyframes) if not k.path.is_file()]
        if missing:
            notes.insert(0, f"{path.name}: keyframe images not found: {', '.join(missing)}")
        if notes:
            self.window.show_error("\n".join(notes))
        self.remember(path)
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
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, PROJECT_FILTER)
        return self.save_to(Path(path)) if path else False

    def save_to(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        try:
            self.document.save(path)
        except MorphError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.autosave.discard()
        self.remember(path)
        self.window.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def confirm_discard(self) -> bool:
        if not self.document.dirty or not self.window.ask_before_close:
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window, "Unsaved changes", "Save the changes to this morph first?",
            buttons.Save | buttons.Discard | buttons.Cancel,
        )  # fmt: skip
        if answer == buttons.Save:
            return self.save()
        return answer == buttons.Discard

    # -- recent files --------------------------------------------------------------------------
    def remember(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self.recent() if p != str(path.resolve())]
        self.qsettings.setValue("recent", recent[:MAX_RECENT])
        self.qsettings.setValue("last_project_dir", str(path.parent))
        self.refresh_recent()

    def recent(self) -> list[str]:
        return setting_strings(self.qsettings, "recent")

    def refresh_recent(self) -> None:
        """Rebuild File ▸ Open Recent from the stored list."""
        menu = self.window.recent_menu
        menu.clear()
        for entry in self.recent():
            action = menu.addAction(entry)
            action.triggered.connect(
                lambda _c=False, p=entry: self.confirm_discard() and self.open_project(Path(p))
            )
        menu.setEnabled(bool(self.recent()))

    # -- autosave and recovery -----------------------------------------------------------------
    def autosave_now(self) -> None:
        if self.document.dirty and self.document.keyframes:
            try:
                self.window.autosave.save(self.document.project_for_saving())
            except MorphError as exc:
                self.window.statusBar().showMessage(f"Autosave failed: {exc}", 10_000)

    def offer_recovery(self) -> None:
        recovered = self.window.autosave.start_session()
        if recovered is None:
            return
        answer = QMessageBox.question(
            self.window, "Recover unsaved work?",
            f"morphapp did not close properly last time. Recover the unsaved morph with "
            f"{len(recovered.keyframes)} keyframes?",
        )  # fmt: skip
        if answer == QMessageBox.StandardButton.Yes:
            self.document.restore(recovered)
        else:
            self.window.autosave.discard()
