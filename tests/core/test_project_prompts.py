"""Projects with prompt keyframes and diffusion settings: saved, loaded, and checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframe_args import parse_keyframe_arg
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.project import Project, load_project, project_to_dict, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.errors import InputError


def test_prompt_keyframes_and_diffusion_settings_round_trip(pairs_dir: Path, tmp_path: Path) -> None:
    settings = MorphSettings(diffusion=DiffusionSettings(steps=30, guidance=5.0, strength=0.8, pacing="even"))
    project = Project(
        (
            Keyframe(pairs_dir / "cat.png", prompt="a cat"),
            PromptKeyframe("a dog", 42),
            PromptKeyframe("a fox"),
        ),
        settings,
    )
    path = tmp_path / "p.json"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded.keyframes[1:] == (PromptKeyframe("a dog", 42), PromptKeyframe("a fox", None))
    assert isinstance(loaded.keyframes[0], Keyframe) and loaded.keyframes[0].prompt == "a cat"
    assert loaded.settings.diffusion == settings.diffusion


def test_autoencoder_projects_do_not_grow_diffusion_fields(pairs_dir: Path, tmp_path: Path) -> None:
    doc = project_to_dict(Project((Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")),
                                  MorphSettings()), tmp_path)  # fmt: skip
    assert "diffusion" not in doc["settings"]
    assert all(set(k) == {"type", "path", "sha256"} for k in doc["keyframes"])


@pytest.mark.parametrize(
    ("keyframe", "message"),
    [
        ({"type": "video", "path": "x.mp4"}, 'keyframes[1].type must be "image", "prompt" or "expr"'),
        ({"type": "prompt"}, "missing keyframes[1].prompt"),
        ({"type": "prompt", "prompt": "a", "seed": "7"}, "keyframes[1].seed must be a whole number or null"),
        ({"type": "prompt", "prompt": "x" * 5000}, "a prompt of 5,000 characters"),
    ],
)
def test_malformed_prompt_keyframes_are_clear_errors(
    pairs_dir: Path, tmp_path: Path, keyframe: dict, message: str
) -> None:
    doc = project_to_dict(Project((Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")),
                                  MorphSettings()), tmp_path)  # fmt: skip
    doc["keyframes"][1] = keyframe
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_project(path)


def test_bad_diffusion_settings_in_a_project_are_clear_errors(pairs_dir: Path, tmp_path: Path) -> None:
    settings = MorphSettings(diffusion=DiffusionSettings(steps=10))
    keyframes = (Keyframe(pairs_dir / "cat.png"), PromptKeyframe("a dog"))
    doc = project_to_dict(Project(keyframes, settings), tmp_path)
    doc["settings"]["diffusion"]["steps"] = 100000
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="--steps 100000: must be between 1 and 200"):
        load_project(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prompt:a red fox", PromptKeyframe("a red fox")),
        ("prompt[12]: a red fox ", PromptKeyframe("a red fox", 12)),
        ("prompt[-3]:x", PromptKeyframe("x", -3)),
        ("cat.png", Keyframe(Path("cat.png"))),
        ("prompts/cat.png", Keyframe(Path("prompts/cat.png"))),
    ],
)
def test_keyframe_arguments(text: str, expected: object) -> None:
    assert parse_keyframe_arg(text) == expected
