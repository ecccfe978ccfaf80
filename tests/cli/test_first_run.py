"""A new user's first commands: the README's first example offline, and no dead ends on the way."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.cli.main import main
from morphapp.core.imaging.load import load_image
from tests.fresh_user import fresh_user_env


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def _cli(*args: str | Path) -> tuple[int, str]:
    """The CLI in-process; argparse's own exits count as exit codes too."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


def test_readme_first_example_on_a_fresh_offline_machine(tmp_path: Path, pairs_dir: Path) -> None:
    """No model folder, an empty home, HF_HUB_OFFLINE=1: the built-in model renders the README's GIF."""
    for name in ("cat.png", "dog.png"):
        (tmp_path / name).write_bytes((pairs_dir / name).read_bytes())
    env = fresh_user_env(tmp_path / "home", HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "morphapp", "render", "cat.png", "dog.png", "-o", "morph.gif"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "model taef2 (FLUX.2 (TAEF2))" in done.stderr
    # A best-colours GIF of megabytes a second: the note says so, and names the web preset.
    size_mb = (tmp_path / "morph.gif").stat().st_size / 1e6
    assert size_mb > 5
    assert f"morph.gif: {size_mb:.1f} MB for 2.5 s" in done.stderr
    assert "--format gif-web makes one sized for the web" in done.stderr
    frames = []
    with Image.open(tmp_path / "morph.gif") as gif:
        # The README: 2.5 s at 24 fps, 512x512: a 49-frame morph resting 6 frames on each keyframe.
        assert (gif.n_frames, gif.size) == (61, (512, 512))
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    cat = load_image(tmp_path / "cat.png", (512, 512)).pixels
    dog = load_image(tmp_path / "dog.png", (512, 512)).pixels
    assert _psnr(frames[0], cat) > 20 and _psnr(frames[-1], dog) > 20
    assert _psnr(frames[0], dog) < 15 and _psnr(frames[-1], cat) < 15
    assert np.array_equal(frames[0], frames[6]) and np.array_equal(frames[-7], frames[-1])  # the rests
    assert not np.array_equal(frames[6], frames[7])  # then the morph
    middle = frames[30]
    assert _psnr(middle, frames[0]) < 20 and _psnr(middle, frames[-1]) < 20  # an in-between


def test_an_abbreviated_option_is_refused_with_the_render_usage(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    code, err = _cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "--frame", "10", "-o", out)
    assert code == 2 and not out.exists()
    assert err.startswith("usage: morphapp render ")
    assert err.rstrip().endswith("morphapp render: error: unrecognized arguments: --frame 10")


def test_an_unknown_option_of_models_pull_shows_its_own_usage() -> None:
    code, err = _cli("models", "pull", "--fast", "taef2")
    assert code == 2 and err.startswith("usage: morphapp models pull ")


@pytest.mark.parametrize("with_output", [True, False])
def test_a_failed_render_writes_no_project(pairs_dir: Path, tmp_path: Path, with_output: bool) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("a text file, not a picture")
    project = tmp_path / "morph.json"
    out = ["-o", tmp_path / "m.gif"] if with_output else []
    code, err = _cli(
        "render", pairs_dir / "cat.png", notes, *out, "--save-project", project, "--size", "64x48"
    )
    assert code == 2 and "notes.png" in err
    assert not project.exists() and not (tmp_path / "m.gif").exists()


def test_a_saved_project_names_the_model_it_used(pairs_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "morph.json"
    code, err = _cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif", "--save-project",
        project, "--size", "64x48", "--frames", "3", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(project.read_text())
    assert doc["model"] == "taef2" and doc["model_latent_channels"] == 32
    assert [f["name"] for f in doc["model_files"]] == ["taef2_encoder.pth", "taef2_decoder.pth"]


def test_an_unwritable_project_path_fails_before_rendering(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    code, err = _cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--save-project",
        tmp_path / "no-such-folder" / "p.json", "--size", "64x48",
    )  # fmt: skip
    assert code == 2 and "no-such-folder" in err and not out.exists()
