"""Settings fields and the document's undo stack: one edit of a field is one undo step, and Undo/Redo
work while a field has focus.

Without this, each wheel notch or keystroke in a spin box was its own undo step (Frames 25 -> 15
took ten Ctrl+Z to get back), and Ctrl+Z in a focused spin box went to its line edit's own undo
instead of the project's. While a field has focus, the document merges its changes into one
command (``Document.open_field_edit``); Undo/Redo pressed there undo the project's edits.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget

from morphapp.gui.document import Document


class FieldEdits(QObject):
    def __init__(self, doc: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = doc

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.FocusIn:
            self._doc.open_field_edit(watched)
        elif kind == QEvent.Type.FocusOut:
            self._doc.close_field_edit()
        elif kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent):
            stack = self._doc.undo_stack
            if event.matches(QKeySequence.StandardKey.Undo):
                action = stack.undo
            elif event.matches(QKeySequence.StandardKey.Redo):
                action = stack.redo
            else:
                return False
            if kind == QEvent.Type.ShortcutOverride:
                event.accept()  # the key comes here, not to the window's action (it would run twice)
                return True
            self._doc.close_field_edit()  # what is typed after an undo is a new edit
            action()
            self._doc.open_field_edit(watched)
            return True
        return False


def track_field_edits(root: QWidget, doc: Document) -> FieldEdits:
    """Watch every spin and combo box under ``root`` (the filter lives as long as ``root``)."""
    edits = FieldEdits(doc, root)
    for widget in [*root.findChildren(QAbstractSpinBox), *root.findChildren(QComboBox)]:
        widget.installEventFilter(edits)
    return edits
