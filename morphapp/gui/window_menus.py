"""The main window's menu bar: File, Edit, Playback and Help, with their actions and shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from morphapp.gui import help_commands
from morphapp.gui.help_dialogs import HELP_LABEL
from morphapp.gui.stored_settings import setting_bool

if TYPE_CHECKING:
    from morphapp.gui.main_window import MainWindow


def add_action(
    window: MainWindow,
    menu: QMenu,
    text: str,
    slot: Callable[..., object],
    shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """Fill the window's menu bar; the actions other parts reach are kept on the window."""
    projects, keyframes = window.project_files, window.keyframe_commands
    file_menu = window.menuBar().addMenu("&File")
    add_action(window, file_menu, "&New", projects.new_project, QKeySequence.StandardKey.New)
    add_action(window, file_menu, "&Open…", projects.open_dialog, QKeySequence.StandardKey.Open)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.save_action = add_action(window, file_menu, "&Save", projects.save, QKeySequence.StandardKey.Save)
    add_action(window, file_menu, "Save &As…", projects.save_as, QKeySequence("Ctrl+Shift+S"))
    file_menu.addSeparator()
    window.add_images_action = add_action(
        window, file_menu, "&Add Images…", keyframes.add_images_dialog, QKeySequence("Ctrl+I")
    )
    # A lambda: triggered(checked) would hand add_prompt False as the prompt text instead of asking.
    add_action(
        window, file_menu, "Add &Prompt Keyframe…", lambda: keyframes.add_prompt(), QKeySequence("Ctrl+T")
    )
    add_action(
        window, file_menu, "Add E&xpression Keyframe…", keyframes.add_expression, QKeySequence("Ctrl+Shift+E")
    )
    add_action(
        window,
        file_menu,
        "Add &Music…",
        lambda: window.music.add_music_dialog(window),
        QKeySequence("Ctrl+M"),
    )
    window.remove_music_action = add_action(
        window, file_menu, "Remove Music", lambda: window.document.set_audio(None)
    )
    window.export_action = add_action(
        window, file_menu, "&Export…", window.open_export, QKeySequence("Ctrl+E")
    )
    file_menu.addSeparator()
    add_action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit_menu = window.menuBar().addMenu("&Edit")
    undo = window.document.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = window.document.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence(QKeySequence.StandardKey.Redo)])
    undo.setProperty(HELP_LABEL, "Undo")  # their text names the step ("Undo Add 2 keyframes")
    redo.setProperty(HELP_LABEL, "Redo")
    window.undo_action = undo
    edit_menu.addAction(undo)
    edit_menu.addAction(redo)
    add_action(
        window, edit_menu, "&Remove Keyframe", lambda: keyframes.remove_keyframe(window.strip.currentRow())
    )
    edit_menu.addSeparator()
    window.points_action = add_action(
        window, edit_menu, "Correspondence &Points…", window.open_point_editor, QKeySequence("Ctrl+P")
    )
    window.auto_align_action = add_action(
        window, edit_menu, "&Auto-align New Keyframes", window.new_keyframe_aligner.remember_setting
    )
    window.auto_align_action.setCheckable(True)
    # On by default: a dropped pair of portraits lines up without a click (faces, else features).
    window.auto_align_action.setChecked(setting_bool(window.qsettings, "auto_align_new", True))

    play_menu = window.menuBar().addMenu("&Playback")
    preview_panel = window.preview_panel
    window.play_action = add_action(
        window, play_menu, "&Play / Pause", preview_panel.toggle_play, QKeySequence(Qt.Key.Key_Space)
    )
    window.next_action = add_action(
        window, play_menu, "&Next Frame", lambda: preview_panel.step(1), QKeySequence(Qt.Key.Key_Right)
    )
    window.previous_action = add_action(
        window, play_menu, "P&revious Frame", lambda: preview_panel.step(-1), QKeySequence(Qt.Key.Key_Left)
    )
    help_menu = window.menuBar().addMenu("&Help")
    add_action(
        window, help_menu, "&Getting Started", lambda: help_commands.show_getting_started(window),
        QKeySequence.StandardKey.HelpContents,
    )  # fmt: skip
    add_action(window, help_menu, "&Keyboard Shortcuts", lambda: help_commands.show_shortcuts(window))
    add_action(window, help_menu, "Copy &Version Info", lambda: help_commands.copy_version_info(window))
    help_menu.addSeparator()
    add_action(window, help_menu, "&About morphapp", lambda: help_commands.show_about(window))
    projects.refresh_recent()
