"""Issue 23: the engine's errors reach the window in the window's words, and a rule the CLI
enforces (no correspondence points with a diffusion model) is enforced by the window too."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.main_window import MainWindow
from morphapp.gui.wording import in_window_terms
from tests.reliability.conftest import error_line, run_cli

TIMEOUT = 120_000
POINTS = [[[0.3, 0.4, 0.35, 0.45], [0.6, 0.4, 0.62, 0.42]]]


def test_flags_become_field_names_and_unknown_flags_stay() -> None:
    assert (
        in_window_terms("--fps -1: must be above 0 and at most 240")
        == "FPS -1: must be above 0 and at most 240"
    )
    assert in_window_terms("give --frames or --segment-frames") == "give Total frames or Frames in segment"
    assert in_window_terms("--align-model goes with --align auto") == "--align-model goes with Align auto"
    # A choice the window offers as a preset, not a field: named as the preset.
    assert in_window_terms("--format gif-web makes one sized for the web") == (
        "the preset \u201cGIF for the web\u201d makes one sized for the web"
    )


def test_a_bad_setting_in_a_project_names_the_windows_field(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Before: the error bar read "--fps -1: ...", a flag the window has nowhere."""
    project = {
        "format": "morphapp.project", "version": 1, "model": None,
        "keyframes": [{"type": "image", "path": str(pairs_dir / "cat.png")},
                      {"type": "image", "path": str(pairs_dir / "dog.png")}],
        "settings": {"size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
                     "loop": "none", "fps": -1, "seed": 0, "segments": [{"steps": 3, "ease": "linear"}]},
    }  # fmt: skip
    source = tmp_path / "bad-fps.json"
    source.write_text(json.dumps(project))
    assert not window.open_project(source)
    assert "FPS -1: must be above 0" in window.error_bar.text, window.error_bar.text
    assert "--" not in window.error_bar.text


def test_points_with_a_diffusion_model_are_refused_by_both_faces(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, tiny_sd_dir: Path,
    model_path_env: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Before: the CLI refused; the window rendered the morph and dropped the points in silence."""
    points = tmp_path / "points.json"
    points.write_text(json.dumps(POINTS))
    code, err = run_cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "--model", tiny_sd_dir, "--points", points,
        "--size", "32x32", "--frames", "3", "--steps", "2", "-o", tmp_path / "m.gif",
    )  # fmt: skip
    assert code == 2
    assert "--points / --align: shape-aware warps work with autoencoder (TAE) models only" in error_line(err)
    assert not (tmp_path / "m.gif").exists()

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.document.set_settings(
        "small", size=(32, 32), segments=(SegmentSpec(3),), diffusion=DiffusionSettings(steps=2),
        points=(tuple(tuple(p) for p in POINTS[0]),),
    )  # fmt: skip
    panel = window.settings_panel
    panel.refresh_models()
    index = panel.model.findData("tiny-sd")
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)
    qtbot.waitUntil(lambda: "shape-aware" in window.error_bar.text, timeout=TIMEOUT)
    text = window.error_bar.text
    assert "Points / Align: shape-aware warps work with autoencoder (TAE) models only; tiny-sd" in text, text
    assert "remove the points or choose a TAE model" in text
