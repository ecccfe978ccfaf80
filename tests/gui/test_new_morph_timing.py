"""Issue 24: a new morph's length follows the kind of model until the artist times it. With an
autoencoder a new morph lasts 2.5 s (48 frames a segment, 6-frame rests); a diffusion model's
frames cost seconds of denoising each, so with one it is 24 frames and no rests, as on the command
line; an undo takes the model and the timing back together."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from morphapp.core.domain.settings import new_morph_timing
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.main_window import MainWindow


def _pick(window: MainWindow, name: str) -> None:
    panel = window.settings_panel
    index = panel.model.findData(name)
    assert index > 0, name
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)  # as a click on the item does


def test_a_new_morph_takes_the_timing_of_the_model_it_renders_with(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tiny_sd_dir: Path, model_path_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    window.document.clear()  # a new morph, as File ▸ New makes it (the fixture's is a short test one)
    window.settings_panel.refresh_models()
    doc = window.document
    doc.add_keyframes([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    assert (doc.segments()[0].steps, doc.settings.hold) == new_morph_timing(diffusion=False) == (48, 6)
    assert doc.total_frames() == 61

    _pick(window, "tiny-sd")
    assert doc.model == "tiny-sd"
    assert (doc.segments()[0].steps, doc.settings.hold) == new_morph_timing(diffusion=True) == (24, 0)
    assert doc.total_frames() == 25
    assert window.settings_panel.frames.value() == 25  # the panel shows it
    doc.undo_stack.undo()  # one step: the model and its timing
    assert doc.model is None and doc.total_frames() == 61

    _pick(window, "tiny-sd")
    _pick(window, "taef2")  # back to an autoencoder: the autoencoder's new-morph timing again
    assert doc.total_frames() == 61


def test_a_timed_morph_keeps_its_timing_whatever_the_model(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tiny_sd_dir: Path, model_path_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    window.document.clear()
    window.settings_panel.refresh_models()
    doc = window.document
    doc.add_keyframes([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    doc.set_segment(0, steps=30)  # the artist's own length
    _pick(window, "tiny-sd")
    assert doc.model == "tiny-sd"
    assert doc.segments() == [SegmentSpec(30, "linear")] and doc.settings.hold == 6
