from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from morphapp.core.cancel import CancelToken
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.autosave import Autosave
from morphapp.gui.main_window import MainWindow
from morphapp.models import backend


class FakeCalibration:
    """Stands in for ``backend.calibrate``: instant, with a verdict the test sets.

    Real timings would cost seconds per GUI test on two shared cores and could pick an ONNX
    codec (an export) at random; the wiring around them is what these tests check.
    """

    def __init__(self) -> None:
        self.fastest = "torch fp32"
        self.calls: list[list[tuple[str, str]]] = []

    def __call__(
        self, _info: object, _device: object, options: list[tuple[str, str]], _ref: object,
        *, repeats: int = 1, cancel: CancelToken | None = None,
    ) -> dict[str, dict[str, float]]:  # fmt: skip
        if cancel is not None:
            cancel.raise_if_cancelled()
        self.calls.append(list(options))
        return {
            f"{b} {p}": {"decode_ms": 10.0 if f"{b} {p}" == self.fastest else 50.0, "encode_ms": 5.0,
                         "psnr_db": 99.0 if p == "fp32" else 50.0}
            for b, p in options
        }  # fmt: skip


@pytest.fixture
def calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCalibration:
    """Each test starts with no cached backend verdict (its own cache file, an empty memory)."""
    fake = FakeCalibration()
    monkeypatch.setattr(backend, "calibrate", fake)
    monkeypatch.setattr(backend, "_memory", {})
    cache = tmp_path / "backend-calibration.json"
    monkeypatch.setattr(backend, "default_cache_path", lambda: cache)
    return fake


@pytest.fixture
def window(
    qtbot, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch, calibration: FakeCalibration
) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    # Most tests check plain morphs; tests/gui/test_auto_align.py turns auto-align on drop back on.
    settings.setValue("auto_align_new", False)
    win = MainWindow(settings=settings, autosave=Autosave(tmp_path / "autosave"))
    win.ask_before_close = False
    qtbot.addWidget(win)
    # Small and short, so each preview is a few decodes of real TAEF2 frames.
    # No rests either (a new morph has some: tests/gui/test_field_edits.py checks that default).
    win.document.set_settings("test size", size=(96, 64), segments=(SegmentSpec(4),), hold=0)
    win.document.undo_stack.clear()
    win.document.undo_stack.setClean()
    win.show()
    yield win
    win.close()


@pytest.fixture
def face_window(window: MainWindow) -> MainWindow:
    """``window`` with frames big enough to find faces in (it renders 96 x 64)."""
    window.document.set_settings("test size", size=(256, 256))
    window.document.undo_stack.clear()
    return window
