"""The GUI's backend choice: a cached verdict from the first frame on, otherwise torch fp32 at once
and a calibration after the first preview, whose pick later renders use; the status bar says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt

from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.engine_worker import EngineWorker, ModelChoice
from morphapp.gui.main_window import MainWindow
from morphapp.models import backend
from morphapp.models.discovery import ModelInfo
from morphapp.models.tae_codec import TaeCodec
from tests.gui.conftest import FakeCalibration

TIMEOUT = 60_000
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _bf16_is_a_candidate() -> None:
    if ("torch", "bf16") not in backend.candidates(CPU):
        pytest.skip("this CPU has no fast bf16: auto has nothing to switch to without an ONNX export")


def _watch_frames(window: MainWindow) -> list[tuple[str, torch.dtype, str]]:
    """(codec class, dtype, how chosen) at each frame's emission, on the engine thread itself."""
    worker = window.engine.worker
    seen: list[tuple[str, torch.dtype, str]] = []

    def record(*_args: object) -> None:
        codec, choice = worker._codec, worker.backend_choice
        assert codec is not None and choice is not None
        seen.append((type(codec).__name__, codec.dtype, choice.how))

    worker.frame_ready.connect(record, Qt.ConnectionType.DirectConnection)
    return seen


def test_first_preview_runs_at_once_then_calibration_switches_later_renders(
    qtbot, window: MainWindow, pairs_dir: Path, calibration: FakeCalibration
) -> None:  # type: ignore[no-untyped-def]
    calibration.fastest = "torch bf16"
    frames = _watch_frames(window)
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    # Every frame of the first preview came from torch fp32, before any calibration ran.
    assert frames and set(frames) == {("TaeCodec", torch.float32, "pending")}

    label = window.model_label
    qtbot.waitUntil(lambda: "calibrated now" in label.text(), timeout=TIMEOUT)
    assert label.text() == "Model: taef2 on cpu, torch bf16 (auto, calibrated now)"
    assert len(calibration.calls) == 1
    # The figures come with their own signal (backend_picked), queued after the label's text:
    # under load the text can be shown a moment before them.
    qtbot.waitUntil(lambda: "torch bf16 (auto, fastest correct" in label.toolTip(), timeout=TIMEOUT)
    assert "torch bf16 (auto, fastest correct" in window.statusBar().currentMessage()
    (entry,) = json.loads(backend.default_cache_path().read_text()).values()
    assert (entry["backend"], entry["precision"]) == ("torch", "bf16")

    frames.clear()
    window.document.set_settings("bigger", size=(104, 64), segments=(SegmentSpec(4),))
    qtbot.waitUntil(lambda: bool(frames) and window.preview.complete(), timeout=TIMEOUT)
    assert set(frames) == {("TaeCodec", torch.bfloat16, "calibrated")}
    assert len(calibration.calls) == 1  # once, not after every preview


def test_a_cached_verdict_is_used_from_the_first_frame(
    qtbot, window: MainWindow, pairs_dir: Path, calibration: FakeCalibration, taef2_info: ModelInfo
) -> None:  # type: ignore[no-untyped-def]
    calibration.fastest = "torch bf16"
    backend.choose(taef2_info, CPU)  # an earlier session's calibration
    backend._memory.clear()  # this is a new process: only the file is left
    frames = _watch_frames(window)
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    assert set(frames) == {("TaeCodec", torch.bfloat16, "cached")}
    assert window.model_label.text() == "Model: taef2 on cpu, torch bf16 (auto, calibration cached)"
    assert len(calibration.calls) == 1


def test_a_waiting_job_goes_before_the_calibration(
    model_path_env: str, monkeypatch: pytest.MonkeyPatch, calibration: FakeCalibration
) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    worker = EngineWorker()  # driven directly, on this thread
    codec = worker.codec_for(ModelChoice("taef2", "cpu"))
    assert isinstance(codec, TaeCodec) and codec.dtype == torch.float32
    assert worker.describe() == "taef2 on cpu, torch fp32 (auto: calibrating after the first preview)"
    worker.job_posted()  # the artist edited: a job is queued behind this point
    worker.calibrate_pending()
    assert calibration.calls == [] and worker.backend_choice.how == "pending"  # type: ignore[union-attr]
    worker._take()  # the job ran; its preview finished
    worker.calibrate_pending()
    assert len(calibration.calls) == 1 and worker.backend_choice.how == "calibrated"  # type: ignore[union-attr]


def test_a_chosen_dtype_is_not_calibrated(
    model_path_env: str, monkeypatch: pytest.MonkeyPatch, calibration: FakeCalibration
) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    worker = EngineWorker()
    codec = worker.codec_for(ModelChoice("taef2", "cpu", "bfloat16"))
    assert codec.dtype == torch.bfloat16
    assert worker.describe() == "taef2 on cpu, torch bf16"
    worker.calibrate_pending()
    assert calibration.calls == []
