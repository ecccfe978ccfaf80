"""The outline path of auto-align (issue 22, item 2): pictures that share a kind of subject but no
features get their silhouettes paired; noise, a flat picture or a scene with no subject stay
without a warp, and say why."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from morphapp.core.align.guard import MIN_JACOBIAN, min_jacobian
from morphapp.core.align.outline import MIN_IOU, MIN_IOU_GAIN, outline_align, subject_mask
from morphapp.core.imaging.load import load_image

SIDE = 192


def _load(pairs_dir: Path, name: str) -> np.ndarray:
    return load_image(pairs_dir / name, (SIDE, SIDE)).pixels


def _overlap(detail: str) -> tuple[float, float]:
    before, after = detail.split("overlap ")[1].split(" -> ")
    return float(before), float(after)


def test_two_houses_get_their_outlines_paired(pairs_dir: Path) -> None:
    a, b = _load(pairs_dir, "house0.jpg"), _load(pairs_dir, "house1.jpg")
    result = outline_align(a, b)
    assert result.points and result.method == "outline", result.describe()
    before, after = _overlap(result.detail)
    assert after >= before + MIN_IOU_GAIN and after >= MIN_IOU, result.describe()
    assert min_jacobian(result.points) >= MIN_JACOBIAN
    assert result.psnr_after >= result.psnr_before - 0.3, result.describe()
    assert all(0.0 <= v <= 1.0 for point in result.points for v in point)
    assert "lined up (outline)" in result.in_words()


def test_noise_against_a_photo_gets_no_warp(pairs_dir: Path) -> None:
    photo = _load(pairs_dir, "realdog1.jpg")
    noise = np.random.default_rng(1).integers(0, 255, photo.shape, dtype=np.uint8)
    for a, b in ((noise, photo), (photo, noise)):
        result = outline_align(a, b)
        assert result.points == () and result.method == "none", result.describe()
        assert result.reason.startswith("outline:"), result.describe()


def test_a_flat_picture_has_no_subject(pairs_dir: Path) -> None:
    photo = _load(pairs_dir, "realdog1.jpg")
    flat = np.full_like(photo, (90, 140, 200))
    mask, why = subject_mask(flat)
    assert mask is None and why
    result = outline_align(flat, photo)
    assert result.points == () and result.method == "none"
    assert "keyframe a" in result.reason, result.describe()


def test_same_pair_same_points(pairs_dir: Path) -> None:
    a, b = _load(pairs_dir, "house0.jpg"), _load(pairs_dir, "house1.jpg")
    first, second = outline_align(a, b), outline_align(a, b)
    assert first.points and first.points == second.points
