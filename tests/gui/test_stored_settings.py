"""The typed QSettings reads: what an INI file written by Qt (or by hand) reads back as."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from morphapp.gui.stored_settings import setting_bool, setting_strings


def _settings(tmp_path: Path, text: str) -> QSettings:
    path = tmp_path / "settings.ini"
    path.write_text(text)
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_a_stored_list_of_strings_reads_back_as_a_list_whatever_its_length(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "[General]\none=/a/b.json\ntwo=/a.json, /b.json\nnone=@Invalid()\n")
    assert setting_strings(settings, "one") == ["/a/b.json"]  # an INI file's one-item list is a string
    assert setting_strings(settings, "two") == ["/a.json", "/b.json"]
    assert setting_strings(settings, "none") == []
    assert setting_strings(settings, "missing") == []


def test_a_stored_bool_reads_back_as_a_bool_with_its_default_when_missing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "[General]\noff=false\non=true\n")
    assert setting_bool(settings, "off", True) is False
    assert setting_bool(settings, "on", False) is True
    assert setting_bool(settings, "missing", True) is True
    assert setting_bool(settings, "missing", False) is False
