"""What the Help menu does: shortcuts, getting started, version info for a bug report, About."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

from morphapp.errors import MorphError
from morphapp.gui.about import AboutDialog, version_report
from morphapp.gui.help_dialogs import GettingStartedDialog, ShortcutsDialog, action_keys

if TYPE_CHECKING:
    from morphapp.gui.main_window import MainWindow


def show_shortcuts(window: MainWindow) -> ShortcutsDialog:
    """Help ▸ Keyboard Shortcuts: read from the menus' actions as they are now."""
    dialog = ShortcutsDialog(window.menuBar(), window)
    dialog.open()
    return dialog


def show_getting_started(window: MainWindow) -> GettingStartedDialog:
    actions = {
        "add": window.add_images_action, "play": window.play_action, "next": window.next_action,
        "previous": window.previous_action, "points": window.points_action, "export": window.export_action,
        "save": window.save_action, "undo": window.undo_action,
    }  # fmt: skip
    dialog = GettingStartedDialog({name: action_keys(a) for name, a in actions.items()}, window)
    dialog.open()
    return dialog


def copy_version_info(window: MainWindow) -> str:
    """Help ▸ Copy Version Info: the About versions and the device, for a bug report. Not the
    model's name (a model opened from a file is named after it) nor any keyframe's."""
    from morphapp.core.render.device import describe_device, resolve_device

    asked = window.preview.choice.device or "auto"
    try:
        device = describe_device(resolve_device(asked))
    except MorphError as exc:
        device = f"{asked} (unavailable: {exc})"
    device += f" (setting: {asked})"
    picked = window.engine.worker.backend_choice
    if picked is not None:
        device += f", {picked.label}"
    text = version_report(device)
    QGuiApplication.clipboard().setText(text)
    window.statusBar().showMessage(
        "Version info copied to the clipboard (" + text.splitlines()[0] + "): paste it into a bug report",
        10_000,
    )
    return text


def show_about(window: MainWindow) -> AboutDialog:
    in_use = window.model_label.text().removeprefix("Model: ")
    if in_use == "not loaded":
        from morphapp.core.render.device import describe_device, resolve_device

        in_use = f"{describe_device(resolve_device('auto'))} (no model loaded yet)"
    device = in_use
    dialog = AboutDialog(device, window)
    dialog.open()
    return dialog
