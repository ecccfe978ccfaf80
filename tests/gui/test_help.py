"""Issue 24: Help ▸ Getting Started, Keyboard Shortcuts (read from the actions, so they cannot
drift) and Copy Version Info (for a bug report, naming none of the artist's files)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QGuiApplication, QKeySequence

from morphapp import __version__
from morphapp.gui.main_window import MainWindow


def _menu(window: MainWindow, title: str) -> list[QAction]:
    menu = next(a for a in window.menuBar().actions() if a.text() == title).menu()
    return [a for a in menu.actions() if not a.isSeparator()]


def _keys(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def test_the_help_menu_has_getting_started_shortcuts_version_info_and_about(
    qtbot, window: MainWindow
) -> None:  # type: ignore[no-untyped-def]
    assert [a.text() for a in _menu(window, "&Help")] == [
        "&Getting Started", "&Keyboard Shortcuts", "Copy &Version Info", "&About morphapp",
    ]  # fmt: skip


def test_the_shortcuts_dialog_lists_the_actions_keys_as_they_are(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images(
        [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    )  # the Undo action now says "Undo Add 2…"
    undo = next(a for a in _menu(window, "&Edit") if a.text().startswith("&Undo"))
    assert undo.text() != "&Undo" and _keys(undo)
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    assert dialog.keys_for("Undo") == _keys(undo)
    assert dialog.keys_for("Export…") == _keys(window.export_action) == "Ctrl+E"
    assert dialog.keys_for("Play / Pause") == _keys(window.play_action)
    text = dialog.text.toPlainText()
    assert "Undo" in text and _keys(undo) in text and "Ctrl+E" in text
    for gesture in ("Mouse wheel", "Right-button (or middle-button) drag", "Right (or middle) double-click"):
        assert gesture in text  # the point editor's
    assert "Remove the selected pair" in text and "Click into the field first" in text
    # A shortcut changed in the menus shows changed: the list is read from the actions.
    window.export_action.setShortcut(QKeySequence("Ctrl+Shift+X"))
    again = window.show_shortcuts()
    qtbot.addWidget(again)
    assert again.keys_for("Export…") == "Ctrl+Shift+X"
    # Actions without a key are not listed (Remove Keyframe has none).
    assert again.keys_for("Remove Keyframe") is None


def test_getting_started_is_an_offline_page_with_the_real_keys(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    dialog = window.show_getting_started()
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    for words in (
        "two or more pictures",
        "scrub",
        "Auto-align",
        "Correspondence Points",
        "Export",
        "presets",
    ):
        assert words in text
    assert f"({_keys(window.export_action)})" in text and f"({_keys(window.points_action)})" in text
    assert not dialog.text.openLinks() and "href" not in dialog.text.toHtml()  # nothing to fetch


def test_copy_version_info_names_versions_and_no_paths(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    action = next(a for a in _menu(window, "&Help") if a.text() == "Copy &Version Info")
    action.trigger()
    text = QGuiApplication.clipboard().text()
    assert f"morphapp {__version__}" in text and "Python " in text and "PySide6 " in text
    assert "PyTorch " in text and "Device: " in text
    assert str(Path.home()) not in text and str(pairs_dir) not in text and "cat.png" not in text
    assert "copied" in window.statusBar().currentMessage()
