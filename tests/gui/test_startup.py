"""Starting the window as a new user would: it renders out of the box, and never waits on nothing.

Each test runs ``morphapp gui`` in its own process with an empty home folder, as a fresh install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.gui.platform_check import DEBIAN_PACKAGES, missing_xcb_libraries
from tests.fresh_user import fresh_user_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="offscreen Qt, Linux")


def _project(tmp_path: Path, pairs_dir: Path) -> Path:
    path = tmp_path / "morph.json"
    keyframes = (Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png"))
    save_project(Project(keyframes, MorphSettings(size=(128, 128), segment_frames=(4,))), path)
    return path


def _gui(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = fresh_user_env(tmp_path / "home", **env)
    if "QT_QPA_PLATFORM" not in env:
        environment.pop("QT_QPA_PLATFORM", None)  # Qt picks its own default (xcb on Linux)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "morphapp", "gui", *args],
        env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done, time.perf_counter() - started


def _errors(stderr: str) -> list[str]:
    """morphapp's own lines (Qt's offscreen plugin adds notices of its own)."""
    return [line for line in stderr.splitlines() if line.startswith("morphapp:")]


def test_fresh_install_screenshot_renders_with_the_built_in_model(tmp_path: Path, pairs_dir: Path) -> None:
    shot = tmp_path / "shot.png"
    done, _ = _gui(
        tmp_path, str(_project(tmp_path, pairs_dir)), "--screenshot", str(shot), "--window-size", "1280x800",
        QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape == (800, 1280, 3)
    assert image.std() > 20  # a window with a picture in it, not a blank grab


def test_without_any_model_the_screenshot_fails_at_once_with_the_message(
    tmp_path: Path, pairs_dir: Path
) -> None:
    shot = tmp_path / "shot.png"
    done, took = _gui(
        tmp_path, str(_project(tmp_path, pairs_dir)), "--screenshot", str(shot),
        QT_QPA_PLATFORM="offscreen", MORPHAPP_BUILTIN_MODELS=str(tmp_path / "removed"),
    )  # fmt: skip
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        next(line for line in done.stderr.splitlines() if line.startswith("morphapp: error: no model found"))
    ]
    assert "the built-in model is missing" in done.stderr
    assert not shot.exists()
    assert took < 60  # seconds, not the 180 s screenshot timeout


def test_an_unusable_platform_plugin_is_one_line_not_an_abort(tmp_path: Path) -> None:
    display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = {"DISPLAY": f":{display}"}
    done, took = _gui(tmp_path, "--screenshot", str(tmp_path / "shot.png"), **env)
    assert done.returncode == 2, done.stderr  # Qt's own failure would be an abort (134)
    lines = _errors(done.stderr)
    assert len(lines) == 1 and done.stderr.strip() == lines[0]
    assert lines[0].startswith("morphapp: error: the desktop app cannot start: ")
    assert "QT_QPA_PLATFORM=offscreen" in lines[0]
    missing = missing_xcb_libraries()
    if missing:  # a minimal system: the libraries and their packages are named
        assert all(name in lines[0] for name in missing)
        assert all(DEBIAN_PACKAGES[name] in lines[0] for name in missing if name in DEBIAN_PACKAGES)
    else:  # everything installed: nothing listens on that display
        assert f"cannot connect to the X display ':{display}'" in lines[0]
    assert took < 30


def test_the_window_shows_the_failure_instead_of_rendering(
    qtbot, tmp_path: Path, pairs_dir: Path, monkeypatch, no_builtin
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    from morphapp.gui.autosave import Autosave
    from morphapp.gui.main_window import MainWindow

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "no-models"))
    monkeypatch.chdir(tmp_path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, autosave=Autosave(tmp_path / "autosave"))
    window.offer_model_download = False
    qtbot.addWidget(window)
    window.show()
    window.ask_before_close = False
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(lambda: window.preview.failure is not None, timeout=60_000)
    message = window.preview_panel.view.message
    assert message.startswith("Cannot render the preview:\nno model found") and "Rendering" not in message
    assert window.error_bar.isVisible() and "no model found" in window.error_bar.text
    window.close()


def test_models_command_names_every_place_searched(tmp_path: Path) -> None:
    env = fresh_user_env(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "morphapp", "models"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table, _, searched = done.stdout.partition("\nSearched")
    assert "taef2" in table and "built-in:" in table
    home = tmp_path / "home"
    for place in (
        tmp_path / "models",
        home / ".local/share/morphapp/models",
        home / ".cache/huggingface/hub",
        Path(os.path.dirname(__import__("morphapp.models.builtin").models.builtin.__file__)),
    ):
        assert str(place) in searched
