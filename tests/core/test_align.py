"""``--align auto`` outcomes (issue 5): a known affine is recovered, the similar test pairs get a warp
that moves hand-placed features towards their partners, unrelated images fall back to no warp, and
no result is ever worse than no warp by the align guard."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from morphapp.core.align.auto import (
    CAMERA_GAIN_DB,
    FLOW_ONLY_GAIN_DB,
    MIN_GAIN_DB,
    MIN_JACOBIAN,
    auto_align,
    min_jacobian,
)
from morphapp.core.align.camera import camera_move
from morphapp.core.align.faces import FACE_MIN_JACOBIAN
from morphapp.core.align.outline import MAX_SIMILARITY_DROP_DB
from morphapp.core.align.silhouette import POSE_MIN_JACOBIAN
from morphapp.core.align.warp import TpsField
from morphapp.core.domain.points import load_points
from morphapp.core.imaging.load import load_image

POINTS_DIR = Path(__file__).resolve().parents[1] / "data" / "points"
SIDE = 256
LATENT_PIXEL = 8 / SIDE  # one latent pixel (TAEF2 downscales 8x), in normalised units
PAIRS = {
    "house": ("house0.jpg", "house1.jpg"),
    "sculp": ("sculp0.png", "sculp1.png"),
    "realdog01": ("realdog0.jpg", "realdog1.jpg"),
    "realdog12": ("realdog1.jpg", "realdog2.jpg"),
    "cat_dog": ("cat.png", "dog.png"),
    "lion_tiger": ("lion.png", "tiger.png"),
}


def _pair(pairs_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = PAIRS[name]
    return load_image(pairs_dir / a, (SIDE, SIDE)).pixels, load_image(pairs_dir / b, (SIDE, SIDE)).pixels


def _hand_error(points: tuple[tuple[float, float, float, float], ...], name: str) -> float:
    """RMS distance (normalised) from where the warp sends each hand-placed feature of a to where
    the hand put it in b; with no points, the features' raw offsets."""
    hand = np.array(load_points(POINTS_DIR / f"{name}.json", 1)[0])
    predicted = hand[:, :2].copy()
    if points:
        arr = torch.tensor(points, dtype=torch.float64)
        field = TpsField.fit(arr[:, :2], arr[:, 2:] - arr[:, :2])
        predicted += field(torch.tensor(hand[:, :2])).numpy()
    return float(np.sqrt(((predicted - hand[:, 2:]) ** 2).sum(1).mean()))


def test_recovers_a_synthetic_rotation_and_scale(pairs_dir: Path) -> None:
    a = load_image(pairs_dir / "sculp0.png", (SIDE, SIDE)).pixels
    centre = (SIDE / 2, SIDE / 2)
    matrix = cv2.getRotationMatrix2D(centre, 12.0, 1.15)  # a's pixel x lands at matrix @ x in b
    matrix[:, 2] += (6.0, -4.0)
    b = cv2.warpAffine(a, matrix, (SIDE, SIDE), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    result = auto_align(a, b, "features")  # a sculpted face: auto would take the face path
    # One scene turned and zoomed: a camera move (core/align/camera.py), the whole frame moving with it,
    # so every point follows the transform (a border-pinned warp had to taper the outer ones).
    assert result.method == "camera", result.describe()
    assert result.confidence > 0.5 and result.psnr_after > result.psnr_before + MIN_GAIN_DB
    pts = np.array(result.points)
    assert len(pts) >= 9
    xy_a = pts[:, :2] * SIDE - 0.5  # pixel-centre coordinates, as OpenCV's matrix uses them
    expected = (xy_a @ matrix[:, :2].T + matrix[:, 2] + 0.5) / SIDE
    errors = np.hypot(*(pts[:, 2:] - expected).T)
    assert np.median(errors) < LATENT_PIXEL / 2 and errors.max() < LATENT_PIXEL, errors.max() * SIDE
    move = camera_move(result.points, SIDE, SIDE)
    assert move is not None and abs(abs(move.a) - 1.15) < 0.01
    assert abs(np.degrees(np.angle(move.a)) + 12.0) < 0.5  # OpenCV's angle turns the other way


def test_unrelated_images_fall_back_to_no_warp(pairs_dir: Path) -> None:
    photo = load_image(pairs_dir / "realdog1.jpg", (SIDE, SIDE)).pixels
    noise = np.random.default_rng(1).integers(0, 255, photo.shape, dtype=np.uint8)
    for a, b in ((noise, photo), (photo, noise)):
        result = auto_align(a, b)
        assert result.points == () and result.method == "none", result.describe()
        assert result.psnr_after == result.psnr_before and "no warp" in result.describe()


@pytest.mark.parametrize(("name", "min_confidence"), [("realdog01", 0.3), ("sculp", 0.1)])
def test_similar_pairs_get_a_warp_that_moves_features_towards_their_partners(
    pairs_dir: Path, name: str, min_confidence: float
) -> None:
    a, b = _pair(pairs_dir, name)
    result = auto_align(a, b, "features")
    assert result.points and result.method == "flow", result.describe()
    assert result.confidence > min_confidence, result.describe()
    # Measured on the hand-placed features (tests/data/points): at least 10 % closer than no warp.
    assert _hand_error(result.points, name) < 0.9 * _hand_error((), name)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_never_worse_than_no_warp(pairs_dir: Path, name: str) -> None:
    """Whatever auto-align keeps brings b measurably closer to a and never folds the image."""
    a, b = _pair(pairs_dir, name)
    result = auto_align(a, b)
    if not result.points:
        assert result.method == "none"
        return
    if result.method == "faces":  # kept on the mesh's confidence, never folding
        assert min_jacobian(result.points) >= FACE_MIN_JACOBIAN and result.confidence >= 0.5
        return
    if result.method == "camera":  # judged where the two framings overlap; a similarity never folds
        assert result.psnr_after >= result.psnr_before + CAMERA_GAIN_DB, result.describe()
        assert camera_move(result.points, SIDE, SIDE) is not None
        return
    if result.method == "outline":  # judged by the silhouettes' overlap; structure barely moves apart
        assert result.psnr_after >= result.psnr_before - MAX_SIMILARITY_DROP_DB, result.describe()
        assert min_jacobian(result.points) >= MIN_JACOBIAN and 0.0 < result.confidence <= 1.0
        return
    need = MIN_GAIN_DB if result.method.startswith("global") else FLOW_ONLY_GAIN_DB
    assert result.psnr_after >= result.psnr_before + need, result.describe()
    # A pose change (outlines snapped) compresses a part for real, as a face does: only near-folds refused.
    floor = POSE_MIN_JACOBIAN if result.method == "global+outline" else MIN_JACOBIAN
    assert min_jacobian(result.points) >= floor
    assert 0.0 < result.confidence <= 1.0


def test_same_pair_same_points(pairs_dir: Path) -> None:
    a, b = _pair(pairs_dir, "realdog01")
    assert auto_align(a, b).points == auto_align(a, b).points


def test_identical_keyframes_need_no_warp(pairs_dir: Path) -> None:
    a, _ = _pair(pairs_dir, "sculp")
    result = auto_align(a, a.copy())
    assert result.points == () and "already line up" in result.describe()


def test_the_note_says_in_words_what_alignment_did() -> None:
    """Issue 22: an artist reads what happened first (the figures follow in ``describe``)."""
    from morphapp.core.align.guard import AlignResult, no_warp

    lined_up = no_warp("the keyframes already line up (45 dB)", 45.0)
    assert lined_up.in_words().startswith("the pictures already")
    folded = no_warp("faces: the landmark warp would fold the image over itself", 12.0)
    assert "would tear the picture" in folded.in_words() and "cross-dissolve" in folded.in_words()
    nothing = no_warp("faces: no face in either keyframe; features: 0 feature matches agree", 11.0)
    assert nothing.in_words().startswith("no shared subject found") and "--points" in nothing.in_words()
    faces = AlignResult(((0.5, 0.5, 0.5, 0.5),), "faces", 0, 0.9, 12.0, 14.0)
    assert faces.in_words().startswith("faces lined up") and "dB" not in faces.in_words()
