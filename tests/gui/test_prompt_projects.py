"""Prompt keyframes and Stable Diffusion models in the window."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QInputDialog

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.project import Project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.main_window import MainWindow

TIMEOUT = 120_000


def test_a_prompt_project_with_an_autoencoder_says_what_it_needs(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "prompts.json"
    save_project(
        Project((Keyframe(pairs_dir / "cat.png"), PromptKeyframe("a dog", 3)), MorphSettings()), target
    )
    assert window.open_project(target)
    assert window.strip.item(1).text() == "2. prompt"
    assert window.strip.item(1).toolTip() == "a dog"
    qtbot.waitUntil(window.error_bar.isVisible, timeout=TIMEOUT)
    assert "keyframe 2 is a prompt ('a dog')" in window.error_bar.text
    assert not window.add_prompt("a cat")  # the autoencoder cannot take one
    assert "need a Stable Diffusion model" in window.error_bar.text
    assert not window.settings_panel.prompt_button.isEnabled()
    panel = window.settings_panel  # issue 24: diffusion settings folded away with an autoencoder
    for widget in (panel.diffusion_steps, panel.guidance, panel.strength, panel.attn_steps, panel.method):
        assert not widget.isVisibleTo(panel)
    assert panel.even_pacing.isVisibleTo(panel) and panel.width_spin.isVisibleTo(panel)


def test_diffusion_model_prompt_keyframe_preview_steps_and_export(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, tiny_sd_dir: Path,
    model_path_env: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    panel = window.settings_panel
    panel.refresh_models()
    index = panel.model.findData("tiny-sd")
    assert index > 0 and "(diffusion)" in panel.model.itemText(index)
    window.document.set_settings(
        "small", size=(32, 32), segments=(SegmentSpec(3),), diffusion=DiffusionSettings(steps=2)
    )
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)  # as a click on the item does
    assert panel.prompt_button.isEnabled() and panel.diffusion_steps.isEnabled()
    assert panel.diffusion_steps.isVisibleTo(panel) and panel.method.isVisibleTo(panel)
    assert panel.diffusion_steps.value() == 2
    assert panel.guidance.text() == "Auto" and panel.strength.value() == 1.0
    panel.guidance.setValue(3.0)
    panel.attn_steps.setValue(0.4)
    assert window.document.settings.diffusion == DiffusionSettings(steps=2, guidance=3.0, attn_steps=0.4)
    panel.guidance.setValue(0.0)  # back to Auto
    assert window.document.settings.diffusion.guidance is None
    assert panel.method.isEnabled() and panel.method.currentData() == "inner"
    panel.method.setCurrentIndex(panel.method.findData("outer"))
    assert window.document.settings.diffusion.method == "outer"
    window.document.undo_stack.undo()  # the method change is one undo step
    assert window.document.settings.diffusion.method == "inner" and panel.method.currentData() == "inner"
    steps: list[tuple[str, int, int]] = []
    window.engine.worker.step_ready.connect(
        lambda _g, label, step, total, _i: steps.append((label, step, total))
    )
    assert window.add_images([pairs_dir / "cat.png"])
    assert window.add_prompt("a red fox")
    assert isinstance(window.document.keyframes[1], PromptKeyframe)
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    assert len(window.preview.frames) == 4  # 3 steps of the segment + the last keyframe
    assert ("keyframe 1", 2, 2) in steps and ("keyframe 2", 2, 2) in steps
    assert any(label.startswith("t=") for label, _s, _t in steps)
    assert "(diffusion)" in window.settings_panel.in_use.text()
    # Undo takes the prompt keyframe away again.
    window.document.undo_stack.undo()
    assert len(window.document.keyframes) == 1
    window.document.undo_stack.redo()
    # Export through the dialog: the same engine, all frames.
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex(1)  # MP4
    target = tmp_path / "fox.mp4"
    dialog.destination.setText(str(target))
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    with av.open(str(target)) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert len(frames) == 4 and (frames[0].width, frames[0].height) == (32, 32)


def test_a_project_naming_a_diffusion_model_previews_with_it(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, tiny_sd_dir: Path,
    model_path_env: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    window.settings_panel.refresh_models()
    settings = MorphSettings(size=(32, 32), segments=(SegmentSpec(2),), diffusion=DiffusionSettings(steps=2))
    target = tmp_path / "fox.json"
    save_project(
        Project((PromptKeyframe("a fox", 1), PromptKeyframe("a car", 2)), settings, "tiny-sd"), target
    )
    assert window.open_project(target)
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)
    assert (
        "tiny-sd" in window.settings_panel.in_use.text()
        and "float32 (diffusion)" in window.settings_panel.in_use.text()
    )
    assert window.settings_panel.prompt_button.isEnabled()


def test_the_menu_asks_for_the_prompt(
    qtbot, window: MainWindow, tiny_sd_dir: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """File > Add Prompt Keyframe… (Ctrl+T) opens "Describe the picture" and adds what is typed.
    It used to take the action's checked flag (False) for the prompt and ask nothing."""
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    panel = window.settings_panel
    panel.refresh_models()
    index = panel.model.findData("tiny-sd")
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)
    asked: list[str] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, answer)  # not shown yet
            return
        asked.append(dialog.labelText())
        dialog.setTextValue("a red fox")
        dialog.accept()

    action = next(a for a in window.findChildren(QAction) if a.text() == "Add &Prompt Keyframe…")
    assert action.shortcut() == QKeySequence("Ctrl+T")
    QTimer.singleShot(0, answer)
    action.trigger()
    assert asked == ["Describe the picture:"]
    assert [type(k) for k in window.document.keyframes] == [PromptKeyframe]
    assert window.document.keyframes[0].prompt == "a red fox"
