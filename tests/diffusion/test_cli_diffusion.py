"""``morphapp render`` with a Stable Diffusion model: image, prompt and mixed keyframes, projects."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.project import load_project
from tests.cli.test_cli import run_cli

FAST = ["--size", "32x32", "--steps", "3", "--quiet"]


def gif_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


def test_image_to_prompt_morph_to_gif_and_project(pairs_dir: Path, tiny_sd_dir: Path, tmp_path: Path) -> None:
    out, project = tmp_path / "m.gif", tmp_path / "p.json"
    code, err = run_cli(
        "render", pairs_dir / "cat.png", "prompt[7]:a dog on a sofa", "--model", tiny_sd_dir,
        "--frames", "5", "--prompt", "a cat", "--guidance", "3", "--attn-steps", "0.5",
        "-o", out, "--save-project", project, *FAST,
    )  # fmt: skip
    assert code == 0, err
    frames = gif_frames(out)
    assert len(frames) == 5 and frames[0].shape == (32, 32, 3)
    saved = load_project(project)
    first = saved.keyframes[0]
    assert isinstance(first, Keyframe) and first.prompt == "a cat"
    assert first.path.resolve() == (pairs_dir / "cat.png").resolve()
    assert saved.keyframes[1] == PromptKeyframe("a dog on a sofa", 7)
    assert saved.settings.diffusion == DiffusionSettings(steps=3, guidance=3.0, attn_steps=0.5)
    # The project renders the same frames again.
    again = tmp_path / "again.gif"
    code, err = run_cli("render", project, "-o", again, "--quiet")
    assert code == 0, err
    for a, b in zip(frames, gif_frames(again), strict=True):
        np.testing.assert_array_equal(a, b)


def test_prompt_morph_to_png_sequence_with_even_pacing(tiny_sd_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    code, err = run_cli(
        "render", "prompt:a red fox", "prompt:a blue car", "--model", tiny_sd_dir, "--frames", "6",
        "--pacing", "even", "--format", "png", "-o", out, "--size", "32x32", "--steps", "3",
    )  # fmt: skip
    assert code == 0, err
    assert len(sorted(out.glob("*.png"))) == 6
    assert "pacing: max/mean step" in err and "->" in err
    sidecar = json.loads((out / "morph.json").read_text())
    assert sidecar["metadata"]["settings"]["diffusion"]["pacing"] == "even"
    assert [k["type"] for k in sidecar["metadata"]["keyframes"]] == ["prompt", "prompt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prompt:"], "needs text after 'prompt:'"),
        (["--steps", "0"], "--steps 0: must be between 1 and 200"),
        (["--strength", "0"], "--strength 0.0: must be above 0"),
        (["--attn-steps", "1.5"], "--attn-steps 1.5: must be between 0 and 1"),
        (["--prompt", "a", "--prompt", "b", "--prompt", "c"], "--prompt given 3 times for 2 image keyframes"),
        (["--backend", "onnx"], "--backend onnx and --batch work with autoencoder (TAE) models only"),
    ],
)
def test_bad_diffusion_options_are_clear_errors(
    pairs_dir: Path, tiny_sd_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    if args == ["prompt:"]:
        keys, args = [pairs_dir / "cat.png", "prompt:"], []
    out = tmp_path / "m.gif"
    code, err = run_cli("render", *keys, "--model", tiny_sd_dir, "-o", out, "--size", "32x32", *args)
    assert code != 0
    assert message in err
    assert not out.exists()


def test_prompt_keyframes_with_an_autoencoder_say_what_to_do(pairs_dir: Path, tmp_path: Path) -> None:
    code, err = run_cli("render", pairs_dir / "cat.png", "prompt:a dog", "-o", tmp_path / "m.gif", "--quiet")
    assert code != 0
    assert "keyframe 2 is a prompt ('a dog')" in err and "choose a Stable Diffusion model" in err


def test_diffusion_flags_with_an_autoencoder_are_refused(pairs_dir: Path, tmp_path: Path) -> None:
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    code, err = run_cli("render", *keys, "--steps", "10", "-o", tmp_path / "m.gif", "--quiet")
    assert code != 0
    assert "--steps: diffusion settings, but taef2 is an autoencoder" in err


def test_a_pickled_single_file_checkpoint_is_refused(tmp_path: Path) -> None:
    from morphapp.diffusion.model import load_pipeline
    from morphapp.errors import ModelError
    from morphapp.models.info import ModelInfo

    ckpt = tmp_path / "sd15.ckpt"
    ckpt.write_bytes(b"PK")
    info = ModelInfo("sd15", "checkpoint", "SD 1.x", 4, None, None, format="pickle", paths=(ckpt,))
    with pytest.raises(ModelError, match="reads only .safetensors checkpoints"):
        load_pipeline(info, __import__("torch").float32)


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals (SIGKILL)")
def test_a_killed_diffusion_png_sequence_resumes_to_the_same_frames(
    pairs_dir: Path, tiny_sd_dir: Path, tmp_path: Path
) -> None:
    """kill -9 mid-render (a real process), then --resume: only the missing frames are made, and
    they equal an uninterrupted render's (even pacing re-places them alike from the whole plan)."""
    from tests.reliability.conftest import (
        cli_env,
        frame_hashes,
        kill_hard,
        start_cli,
        temp_frames,
        wait_until,
    )

    args = ["render", pairs_dir / "cat.png", "prompt[2]:a fox", "--model", tiny_sd_dir, "--frames", "24",
            "--pacing", "even", "--format", "png", "--size", "32x32", "--steps", "12", "-q"]  # fmt: skip
    reference = tmp_path / "reference"
    code, err = run_cli(*args, "-o", reference)
    assert code == 0, err
    target = tmp_path / "frames"
    proc = start_cli(*args, "-o", target, cwd=tmp_path, env=cli_env())
    wait_until(lambda: len(temp_frames(target)) >= 3, proc)
    kill_hard(proc)
    kept = len(temp_frames(target))
    assert 3 <= kept < 24
    proc = start_cli(*args, "-o", target, "--resume", cwd=tmp_path, env=cli_env())
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert frame_hashes(target) == frame_hashes(reference)
