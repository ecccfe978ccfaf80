"""Help ▸ Keyboard Shortcuts and Help ▸ Getting Started (issue 24).

The shortcuts list is read from the window's menu actions when it opens, so it shows what the keys
really are (a shortcut changed in the menus changes here too). The keys and mouse gestures that are
not menu actions (the keyframe strip's Delete, the point editor's wheel and right button, the
settings fields' wheel and Ctrl+Z) are listed from the table below; the code they describe is named
next to each group. Both pages are plain text built here: nothing is fetched.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QMenuBar, QPushButton, QTextBrowser, QVBoxLayout, QWidget

HELP_LABEL = "helpLabel"  # an action's property: its name in the list when its text changes (Undo)


def key_text(sequence: QKeySequence | Qt.Key) -> str:
    """A key as the platform writes it (Ctrl+Z here, ⌘Z on macOS)."""
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


def action_keys(action: QAction) -> str:
    """Every shortcut of ``action``, as the platform writes them ("" for none)."""
    keys: list[str] = []
    for sequence in action.shortcuts():
        text = key_text(sequence)
        if text and text not in keys:
            keys.append(text)
    return " or ".join(keys)


def action_label(action: QAction) -> str:
    label = action.property(HELP_LABEL) or action.text()
    return str(label).replace("&&", "\0").replace("&", "").replace("\0", "&")


def menu_shortcuts(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for each menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(title: str, actions: Iterable[QAction]) -> None:
        for action in actions:
            if action.isSeparator():
                continue
            if isinstance(submenu := action.menu(), QMenu):  # typed QObject: a menu's action holds a QMenu
                walk(f"{title} ▸ {action_label(action)}", submenu.actions())
            elif keys := action_keys(action):
                rows.append((title, action_label(action), keys))

    for top in menu_bar.actions():
        if isinstance(menu := top.menu(), QMenu):
            walk(action_label(top), menu.actions())
    return rows


def delete_keys() -> str:
    return f"{key_text(Qt.Key.Key_Delete)} or {key_text(Qt.Key.Key_Backspace)}"


def redo_keys() -> str:
    """The platform's Redo keys that a field takes (field_edits matches the standard key), the
    common ones only: Ctrl+Shift+Z and Ctrl+Y on Linux and Windows, ⌘⇧Z on macOS."""
    bindings = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    common = [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
    shown = [k for k in common if k in bindings] or bindings[:1]
    return " or ".join(key_text(k) for k in shown)


def gestures() -> list[tuple[str, str, str]]:
    """What is not a menu action: (group, what, keys or gesture), groups named after where it lives.
    Built when asked: the platform's standard keys are known once the application runs."""
    delete = delete_keys()
    undo = f"{key_text(QKeySequence(QKeySequence.StandardKey.Undo))} / {redo_keys()}"
    return [
        # morphapp/gui/keyframe_strip.py
        ("Keyframe strip", "Remove the selected keyframe", delete),
        ("Keyframe strip", "Reorder keyframes", "Drag a thumbnail"),
        ("Keyframe strip", "Add pictures at a place", "Drop image files between thumbnails"),
        ("Keyframe strip", "Edit an expression keyframe", "Double-click it"),
        # morphapp/gui/point_editor.py (Edit ▸ Correspondence Points…)
        ("Point editor", "Place a pair", "Click on the left picture, then on the same feature on the right"),
        ("Point editor", "Move a point", "Drag its marker"),
        ("Point editor", "Remove the selected pair", delete),
        ("Point editor", "Zoom at the pointer", "Mouse wheel"),
        ("Point editor", "Pan", "Right-button (or middle-button) drag"),
        ("Point editor", "Show the whole picture again", "Right (or middle) double-click"),
        # morphapp/gui/wheel_guard.py and morphapp/gui/field_edits.py
        ("Settings fields", "Change a value with the wheel",
         "Click into the field first (unfocused, the wheel scrolls the panel)"),
        ("Settings fields", "Step a value", "Up / Down arrows in the field"),
        ("Settings fields", "Undo / redo the project's edits while in a field", undo),
    ]  # fmt: skip


class ShortcutsDialog(QDialog):
    """Every key and gesture of the window, the menus' keys read from their actions."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.setObjectName("shortcutsDialog")
        self.rows = [(f"Menu: {menu}", what, keys) for menu, what, keys in menu_shortcuts(menu_bar)]
        self.rows += gestures()
        self.text = QTextBrowser()
        self.text.setObjectName("shortcutsText")
        self.text.setOpenLinks(False)
        self.text.setHtml(_table_html(self.rows))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.resize(620, 640)

    def keys_for(self, what: str) -> str | None:
        """The keys the list shows for a menu action or gesture (tests, and nothing else)."""
        return next((keys for _group, name, keys in self.rows if name == what), None)


def _table_html(rows: list[tuple[str, str, str]]) -> str:
    parts: list[str] = []
    group = None
    for name, what, keys in rows:
        if name != group:
            if group is not None:
                parts.append("</table>")
            parts.append(f"<h3>{html.escape(name)}</h3><table cellspacing='0' cellpadding='3' width='100%'>")
            group = name
        parts.append(f"<tr><td width='55%'>{html.escape(what)}</td><td><b>{html.escape(keys)}</b></td></tr>")
    if group is not None:
        parts.append("</table>")
    return "".join(parts)


def getting_started_html(keys: Mapping[str, str]) -> str:
    """The Getting Started page; ``keys`` holds the current shortcuts of the actions it names."""

    delete = html.escape(delete_keys())

    def key(name: str) -> str:
        return f" ({html.escape(keys[name])})" if keys.get(name) else ""

    return f"""
<h2>Getting started</h2>
<ol>
<li><p><b>Add two or more pictures.</b> Drop them on the window, or use File ▸ Add Images…{key("add")}.
They line up in the keyframe strip at the bottom: drag a thumbnail to change the order, {delete}
removes the selected one. The morph goes from each keyframe to the next.</p></li>
<li><p><b>Look at the preview.</b> It renders in the background, the midpoint first. Drag the slider
to scrub, or step with {html.escape(keys.get("previous", "") or "←")} and
{html.escape(keys.get("next", "") or "→")}; Playback ▸ Play / Pause{key("play")} plays it.</p></li>
<li><p><b>Align the pictures.</b> With Edit ▸ Auto-align New Keyframes on (the default), dropped faces
(or, failing that, matching features) are lined up for you. For full control, open Edit ▸
Correspondence Points…{key("points")}: click a feature on the left picture, then the same feature on
the right; the wheel zooms, a right-button drag pans.</p></li>
<li><p><b>Set the timing.</b> On the right, <i>Total frames</i> (or the duration) sets the length of
the whole morph and is spread over the segments; pick a segment to give it its own <i>Frames in
segment</i> and easing. <i>Hold keyframes</i> rests on each picture for that many more frames.</p></li>
<li><p><b>Export.</b> File ▸ Export…{key("export")} offers presets: <i>GIF for the web</i> (small),
<i>MP4 to share</i>, WebM and WebP, and lossless or 10-bit files for editors (ProRes, PNG sequence).
The file is offered next to the saved project, or next to the first picture, and never over a file
that is already there.</p></li>
<li><p><b>Keep the project.</b> File ▸ Save{key("save")} writes a small .json project that points at
your pictures; unsaved work is also autosaved and offered back after a crash.</p></li>
</ol>
<p>Every edit can be undone{key("undo")}. Help ▸ Keyboard Shortcuts lists every key.</p>
"""


class GettingStartedDialog(QDialog):
    def __init__(self, keys: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting Started with morphapp")
        self.setObjectName("gettingStartedDialog")
        self.text = QTextBrowser()
        self.text.setObjectName("gettingStartedText")
        self.text.setOpenLinks(False)  # offline: there is nothing to follow
        self.text.setHtml(getting_started_html(keys))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.resize(600, 560)
