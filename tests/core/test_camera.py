"""One scene framed twice morphs as a camera move (issue 22: the reframed scene ghosted).

A real photo and a zoomed-in crop of it: auto-align finds the similarity, stores it as a grid of
points, and the render moves the camera (the whole frame zooms; the ring the close-up does not
show comes from the wide one), so the middle frame is one picture, not a double exposure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from morphapp.core.align.auto import auto_align
from morphapp.core.align.camera import Similarity, camera_images, camera_move, camera_points
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import crossfade_psnr, edge_contrast, psnr
from morphapp.core.render.frames import render_frames
from morphapp.models.tae_codec import TaeCodec

SIDE = 192


def _reframed(
    pairs_dir: Path, tmp_path: Path, name: str = "house0.jpg", zoom: float = 1.6
) -> tuple[Path, Path]:
    """The photo squared, and a crop of it ``zoom`` x closer (left of centre), both SIDE px."""
    photo = Image.open(pairs_dir / name).convert("RGB")
    side = min(photo.size)
    square = photo.crop((0, 0, side, side))
    crop = round(side / zoom)
    left, top = round(side * 0.15), round(side * 0.2)
    wide, close = tmp_path / "wide.png", tmp_path / "close.png"
    square.resize((SIDE, SIDE), Image.Resampling.LANCZOS).save(wide)
    square.crop((left, top, left + crop, top + crop)).resize((SIDE, SIDE), Image.Resampling.LANCZOS).save(
        close
    )
    return wide, close


def test_the_move_raised_to_a_power_is_a_path_from_still_to_the_whole_move() -> None:
    move = Similarity(1.7 * np.exp(0.2j), complex(-40, 12))
    z = np.array([3 + 4j, 100 + 7j, 55 + 80j])
    assert np.allclose(move.power(0.0)(z), z)
    assert np.allclose(move.power(1.0)(z), move(z))
    half = move.power(0.5)
    assert np.allclose(half(half(z)), move(z))  # an even pace: two halves make the move
    assert np.allclose(move.inverse()(move(z)), z)
    assert np.allclose(move.power(0.3).then(move.power(0.7))(z), move(z))


def test_only_a_grid_that_follows_one_large_similarity_is_a_camera_move() -> None:
    move = Similarity(1.5 + 0.05j, complex(-60, -30))
    points = camera_points(move, SIDE, SIDE)
    assert len(points) >= 6
    found = camera_move(points, SIDE, SIDE)
    assert found is not None and abs(found.a - move.a) < 1e-6 and abs(found.c - move.c) < 1e-3
    assert camera_move(points[:3], SIDE, SIDE) is None  # a hand-placed handful is always a similarity
    bent = (*points[:-1], (*points[-1][:2], points[-1][2] + 0.05, points[-1][3]))
    assert camera_move(bent, SIDE, SIDE) is None  # one point moved by hand: a point warp again
    small = camera_points(Similarity(1.02 + 0j, complex(-1, -1)), SIDE, SIDE)
    assert camera_move(small, SIDE, SIDE) is None  # too small to need a camera


def test_both_views_show_the_same_scene_at_every_t(pairs_dir: Path, tmp_path: Path) -> None:
    wide, close = _reframed(pairs_dir, tmp_path)
    a, b = (load_image(p, (SIDE, SIDE)).pixels for p in (wide, close))
    result = auto_align(a, b)
    assert result.method == "camera", result.describe()
    move = camera_move(result.points, SIDE, SIDE)
    assert move is not None and 1.5 < abs(move.a) < 1.7
    start_a, _ = camera_images(a, b, move, 0.0)
    _, end_b = camera_images(a, b, move, 1.0)
    assert np.array_equal(start_a, a) and psnr(end_b, b) > 40  # each keyframe where it is itself
    unmoved = psnr(a, b)  # 10.6 dB: the two framings as they are
    for t in (0.25, 0.5, 0.75):
        view_a, view_b = camera_images(a, b, move, t)
        assert psnr(view_a, view_b) > unmoved + 10, t  # one scene (23.8-25.8 dB; the rest is a's blur)


@pytest.fixture(scope="module")
def codec(model_path_env: str) -> TaeCodec:
    from morphapp.models.discovery import find_model

    return TaeCodec(find_model("taef2"), torch.device("cpu"))


def _frames(codec: TaeCodec, keys: list[Keyframe], settings: MorphSettings) -> list[np.ndarray]:
    return [f.pixels for f in render_frames(keys, codec, settings)]


def test_a_reframed_photo_morphs_as_one_picture_without_a_border_band(
    pairs_dir: Path, tmp_path: Path, codec: TaeCodec
) -> None:
    wide, close = _reframed(pairs_dir, tmp_path)
    keys = [Keyframe(wide), Keyframe(close)]
    a, b = (load_image(p, (SIDE, SIDE)).pixels for p in (wide, close))
    points = auto_align(a, b).points
    plain = _frames(codec, keys, MorphSettings(size=(SIDE, SIDE), frames=5))
    moved = _frames(codec, keys, MorphSettings(size=(SIDE, SIDE), frames=5, points=(points,)))
    gain = crossfade_psnr(plain[2], plain[0], plain[-1]) - crossfade_psnr(moved[2], moved[0], moved[-1])
    assert gain >= 4.0, gain  # issue 22's bar: the middle frame is no cross-fade
    # No band along the edges: each frame's outer strips keep the contrast its two views have there
    # (the edges move with the camera, so the keyframes' own edges are not what to compare with).
    move = camera_move(points, SIDE, SIDE)
    assert move is not None
    for frame, t in zip(moved, [i / 4 for i in range(5)], strict=True):
        view_a, view_b = camera_images(a, b, move, t)
        expected = (1 - t) * edge_contrast(view_a) + t * edge_contrast(view_b)
        assert np.abs(edge_contrast(frame) - expected).max() <= 3.0, t
