"""Spin and combo boxes take the mouse wheel only when they have focus.

An artist scrolling the settings panel with the wheel passes over spin boxes: without this, each
notch under the pointer changed a value (Frames 25 -> 15) and re-rendered the preview. Unfocused,
the wheel now scrolls the panel; a click (or Tab) into a field gives it the wheel.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        parent = watched.parentWidget()
        if parent is not None:  # on to the enclosing widgets: the scroll area scrolls
            QCoreApplication.sendEvent(parent, event)
        return True


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every spin and combo box under ``root`` (the guard lives as long as ``root``)."""
    guard = WheelGuard(root)
    for widget in [*root.findChildren(QAbstractSpinBox), *root.findChildren(QComboBox)]:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn no longer focuses it
        widget.installEventFilter(guard)
    return guard
