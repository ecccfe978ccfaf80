"""The built-in TAEF2 is exactly the published weights, made by the script kept in the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from morphapp.models import taesd
from morphapp.models.builtin import builtin_folder
from morphapp.models.weights import load_state_dict

REPO = Path(__file__).resolve().parents[2]


def test_the_script_remakes_the_committed_file_byte_for_byte(taef2_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "taef2.safetensors"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_builtin_models.py"), str(taef2_dir), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (builtin_folder() / "taef2.safetensors").read_bytes()


def test_the_built_in_tensors_are_the_published_ones(taef2_dir: Path) -> None:
    encoder, decoder = taesd.split_combined(load_state_dict(builtin_folder() / "taef2.safetensors"))
    for half, ours in (("encoder", encoder), ("decoder", decoder)):
        published = load_state_dict(taef2_dir / f"taef2_{half}.pth")
        assert ours.keys() == published.keys()
        assert all(torch.equal(ours[k], published[k]) for k in published)
    assert (builtin_folder() / "LICENSE-taef2").read_text().startswith("MIT License")
