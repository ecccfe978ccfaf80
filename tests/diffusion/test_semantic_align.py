"""Semantic correspondences (DIFT) for --align auto: matching, the guard, the UNet features, the CLI.

A tiny random UNet's features carry no semantics (its matches are noise, which the guard must
then turn down), so the matching is checked on feature maps made by hand and the guard on
points of a known shift; the real UNet path is checked for what it must deliver (shape, norm,
which block) and for never doing harm.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.cli.main import main
from morphapp.core.align.guard import judge_points
from morphapp.core.imaging.load import load_image
from morphapp.diffusion.features import dift_features, dift_points, semantic_align
from morphapp.diffusion.model import DiffusionModel


def shifted_pair(pairs_dir: Path, shift: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Two 128² views of one photo, b's content ``shift`` px to the left of a's."""
    wide = load_image(pairs_dir / "cat.png", (128 + shift, 128)).pixels
    return np.ascontiguousarray(wide[:, :128]), np.ascontiguousarray(wide[:, shift : shift + 128])


def test_mutual_nearest_neighbours_recover_a_known_shift() -> None:
    torch.manual_seed(0)
    field = torch.nn.functional.normalize(torch.randn(16, 32, 40), dim=0)  # a feature per place
    a, b = field[:, :, :32], field[:, :, 5:37]  # b's content 5 cells to the left
    points = dift_points(a, b)
    inside = [p for p in points if p[0] * 32 >= 5]  # grid points whose content is in b at all
    assert len(inside) >= 30
    assert all(xb == pytest.approx(xa - 5 / 32) and yb == pytest.approx(ya) for xa, ya, xb, yb in inside)
    noise = torch.nn.functional.normalize(torch.randn(16, 32, 32), dim=0)
    assert len(dift_points(a, noise)) < len(inside) // 3  # unrelated maps: few mutual pairs


def test_the_guard_keeps_true_points_and_refuses_wrong_ones(pairs_dir: Path) -> None:
    a, b = shifted_pair(pairs_dir)
    ticks = np.linspace(0.2, 0.8, 5)
    true = tuple((x, y, x - 16 / 128, y) for y in ticks for x in ticks)
    kept = judge_points(a, b, true, "semantic", "test")
    assert kept.points == true and kept.psnr_after > kept.psnr_before + 0.4
    wrong = tuple((x, y, x + 16 / 128, y) for y in ticks for x in ticks)  # the other way
    refused = judge_points(a, b, wrong, "semantic", "test")
    assert not refused.points and "needs a gain of 0.4 dB" in refused.reason


def test_unet_features_come_from_an_up_block_and_never_do_harm(
    tiny_sd: DiffusionModel, pairs_dir: Path
) -> None:
    a, b = shifted_pair(pairs_dir)
    features = dift_features(tiny_sd, a)
    # the tiny UNet's last up-block (32 channels) at latent size (a 2x VAE: 64²), unit norm per place
    assert features.shape == (32, 64, 64)
    torch.testing.assert_close(features.norm(dim=0), torch.ones(64, 64), atol=1e-4, rtol=0)
    assert not torch.equal(features, dift_features(tiny_sd, a, seed=1))  # the noise reaches the UNet
    result = semantic_align(tiny_sd, a, b)
    # random weights: whatever it found, it is kept only if the guard measured a gain
    assert not result.points or result.psnr_after >= result.psnr_before + 0.4


def run_cli(*args: str | Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def test_cli_align_model(pairs_dir: Path, tmp_path: Path, tiny_sd_dir: Path, model_path_env: str,
                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    out = tmp_path / "m.gif"
    pair = (pairs_dir / "cat.png", pairs_dir / "dog.png")
    code, err = run_cli("render", *pair, "-o", out, "--frames", "3", "--size", "64x64",  # auto: the default
                        "--align-model", tiny_sd_dir)  # fmt: skip
    assert code == 0, err
    assert "--align-model tiny" in err or f"--align-model {tiny_sd_dir.name}" in err
    assert "segment 1: " in err and out.is_file()
    code, err = run_cli("render", *pair, "-o", out, "--align", "none", "--align-model", tiny_sd_dir, "-q")
    assert code == 2 and "--align-model goes with --align auto" in err
    code, err = run_cli("render", *pair, "-o", out, "--align", "auto", "--align-model", "taef2", "--quiet")
    assert code == 2 and "taef2 is not a diffusion model" in err


def test_an_installed_sd_model_is_suggested_for_align_auto(
    pairs_dir: Path, tmp_path: Path, tiny_sd_dir: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join([model_path_env, str(tiny_sd_dir.parent)]))
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif",
                        "--frames", "3", "--size", "64x64", "--align", "auto")  # fmt: skip
    assert code == 0, err
    assert f"--align auto: add --align-model {tiny_sd_dir.name} to pair points by meaning" in err
