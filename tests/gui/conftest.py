from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from morphapp.core.timeline import SegmentSpec
from morphapp.gui.autosave import Autosave
from morphapp.gui.main_window import MainWindow


@pytest.fixture
def window(
    qtbot, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autosave=Autosave(tmp_path / "autosave"))
    win.ask_before_close = False
    qtbot.addWidget(win)
    # Small and short, so each preview is a few decodes of real TAEF2 frames.
    win.document.set_settings("test size", size=(96, 64), segments=(SegmentSpec(4),))
    win.document.undo_stack.clear()
    win.document.undo_stack.setClean()
    win.show()
    yield win
    win.close()
