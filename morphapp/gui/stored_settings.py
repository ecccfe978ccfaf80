"""Typed reads of the window's QSettings (``QSettings.value`` is typed ``object``)."""

from __future__ import annotations

from PySide6.QtCore import QSettings


def setting_bool(settings: QSettings, key: str, default: bool) -> bool:
    """The stored ``key`` as Qt converts it to a bool ("true"/"false" in an INI file), else ``default``."""
    value = settings.value(key, default, type=bool)
    return value if isinstance(value, bool) else default


def setting_strings(settings: QSettings, key: str) -> list[str]:
    """A stored list of strings. An INI file reads a one-item list back as that string, and an empty
    list as nothing (None)."""
    value = settings.value(key, [])
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []
