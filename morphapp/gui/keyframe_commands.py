"""Adding, editing and removing keyframes from the main window: images, prompts, expressions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog

from morphapp.core.domain.keyframes import ExprKeyframe
from morphapp.core.imaging.decode import open_image
from morphapp.errors import MorphError
from morphapp.gui.expression_dialog import ExpressionDialog
from morphapp.gui.keyframe_strip import IMAGE_FILTER

if TYPE_CHECKING:
    from morphapp.gui.main_window import MainWindow


class KeyframeCommands(QObject):
    """Each command changes the window's document (undoable) or says on the error bar why not."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document

    def add_images(self, paths: list[Path], index: int | None = None) -> bool:
        """Add images (the same path a drop takes). A bad image changes nothing and says why."""
        checked: list[Path] = []
        for path in map(Path, paths):
            try:
                open_image(path)
            except MorphError as exc:
                self.window.show_error(str(exc))
                return False
            checked.append(path)
        if checked:
            self.document.add_keyframes(checked, index)
            self.window.qsettings.setValue("last_image_dir", str(checked[-1].parent))
            self.window.error_bar.hide()
            self.window.new_keyframe_aligner.align_new()
        return True

    def add_images_dialog(self) -> None:
        start = str(self.window.qsettings.value("last_image_dir", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(self.window, "Add keyframe images", start, IMAGE_FILTER)
        if files:
            self.add_images([Path(f) for f in files])

    def add_prompt(self, text: str | None = None) -> bool:
        """A text keyframe at the end (diffusion models). ``text`` None: ask for it."""
        if not self.window.settings_panel.uses_diffusion():
            self.window.show_error(
                "Prompt keyframes need a Stable Diffusion model: choose one in Model (a diffusers folder or "
                ".safetensors checkpoint in your model folders)."
            )
            return False
        if text is None:
            text, ok = QInputDialog.getText(self.window, "Add prompt keyframe", "Describe the picture:")
            if not ok:
                return False
        try:
            self.document.add_prompt_keyframe(text)
        except MorphError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.error_bar.hide()
        return True

    def add_expression(self) -> bool:
        """An expression keyframe (latent arithmetic) at the end, from the expression editor."""
        dialog = ExpressionDialog(self.window)
        if dialog.exec() != ExpressionDialog.DialogCode.Accepted or dialog.keyframe is None:
            return False
        self.document.add_expression_keyframe(dialog.keyframe)
        self.window.error_bar.hide()
        return True

    def edit_keyframe(self, index: int) -> None:
        """A double-clicked expression keyframe opens the editor on its expression."""
        keyframes = self.document.keyframes
        if not 0 <= index < len(keyframes) or not isinstance(keyframe := keyframes[index], ExprKeyframe):
            return
        dialog = ExpressionDialog(self.window, start=keyframe)
        if dialog.exec() == ExpressionDialog.DialogCode.Accepted and dialog.keyframe is not None:
            self.document.replace_keyframe(index, dialog.keyframe)

    def remove_keyframe(self, index: int) -> None:
        if 0 <= index < len(self.document.keyframes):
            self.document.remove_keyframe(index)
