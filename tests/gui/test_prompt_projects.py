"""A project with prompt keyframes (made for a diffusion model) opened in the window."""

from __future__ import annotations

from pathlib import Path

from morphapp.core.keyframes import Keyframe, PromptKeyframe
from morphapp.core.project import Project, save_project
from morphapp.core.settings import MorphSettings
from morphapp.gui.main_window import MainWindow


def test_a_prompt_project_is_refused_with_the_command_that_renders_it(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    before = window.document.keyframes
    target = tmp_path / "prompts.json"
    save_project(
        Project((Keyframe(pairs_dir / "cat.png"), PromptKeyframe("a dog", 3)), MorphSettings()), target
    )
    assert not window.open_project(target)
    assert window.document.keyframes == before  # nothing changed
    text = window.error_bar.text
    assert "keyframe 2 is a text prompt" in text and "morphapp render prompts.json -o OUT" in text
