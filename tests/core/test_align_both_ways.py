"""A pair gets one verdict whichever way it is morphed (issue 22): flow alone is run from both
keyframes and judged from both, the outline path pairs from b's outline when a's folds. Before,
realdog0 -> realdog1 was aligned and realdog1 -> realdog0 a double exposure; house0 -> house1 took
the outline path and house1 -> house0 folded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from morphapp.core.align.auto import auto_align
from morphapp.core.align.both_ways import swapped
from morphapp.core.align.guard import MIN_JACOBIAN, min_jacobian
from morphapp.core.imaging.load import load_image

SIDE = 256
PAIRS = [
    ("realdog0.jpg", "realdog1.jpg"),
    ("realdog1.jpg", "realdog2.jpg"),
    ("realdog0.jpg", "realdog2.jpg"),
    ("house0.jpg", "house1.jpg"),
    ("lion.png", "tiger.png"),
    ("cat.png", "dog.png"),
    ("mit.jpg", "thu.jpg"),
    ("jeep.jpg", "dog_sit.png"),
    ("dog.png", "dog_sit.png"),
]


def _load(pairs_dir: Path, name: str) -> np.ndarray:
    return load_image(pairs_dir / name, (SIDE, SIDE)).pixels


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_the_same_path_either_way_round(pairs_dir: Path, first: str, second: str) -> None:
    a, b = _load(pairs_dir, first), _load(pairs_dir, second)
    there, back = auto_align(a, b), auto_align(b, a)
    assert there.method == back.method, (there.describe(), back.describe())
    for result in (there, back):
        assert not result.points or min_jacobian(result.points) >= MIN_JACOBIAN


def test_two_dogs_get_the_same_points_either_way_round(pairs_dir: Path) -> None:
    a, b = _load(pairs_dir, "realdog0.jpg"), _load(pairs_dir, "realdog1.jpg")
    there, back = auto_align(a, b), auto_align(b, a)
    assert there.method == "flow" and there.points, there.describe()
    assert there.points == swapped(back.points)
    assert "judged from both keyframes" in there.detail
    # Each side's gain is reported; their mean is what the guard asked of it.
    assert there.psnr_after >= there.psnr_before + 0.4
    assert back.psnr_after == pytest.approx(there.psnr_after)


def test_the_outline_path_pairs_from_b_when_a_folds(pairs_dir: Path) -> None:
    result = auto_align(_load(pairs_dir, "house1.jpg"), _load(pairs_dir, "house0.jpg"))
    assert result.method == "outline", result.describe()
    assert "paired from b's outline" in result.detail
    assert min_jacobian(result.points) >= MIN_JACOBIAN
