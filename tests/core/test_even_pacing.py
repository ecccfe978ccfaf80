"""Even pacing of autoencoder morphs (issue 22): in-betweens re-placed so neighbouring frames differ
evenly, the same frames whichever subset is rendered, and kept in projects."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, load_project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import render_frames
from morphapp.core.timeline.pacing import frame_distance, paced_times
from morphapp.models.tae_codec import TaeCodec

SIZE = (128, 128)


def _steps(frames: list[np.ndarray]) -> np.ndarray:
    steps = np.array([frame_distance(a, b) for a, b in itertools.pairwise(frames)])
    return steps / steps.mean()


@pytest.fixture
def portraits(faces_dir: Path) -> list[Keyframe]:
    return [Keyframe(faces_dir / "Biden.jpg"), Keyframe(faces_dir / "Trump.jpg")]


def test_even_pacing_evens_out_the_steps(portraits: list[Keyframe], taef2: TaeCodec) -> None:
    linear = [f.pixels for f in render_frames(portraits, taef2, MorphSettings(size=SIZE, frames=13))]
    even = [
        f.pixels for f in render_frames(portraits, taef2, MorphSettings(size=SIZE, frames=13, pacing="even"))
    ]
    spread_linear, spread_even = np.abs(_steps(linear) - 1).max(), np.abs(_steps(even) - 1).max()
    assert spread_linear > 0.3  # a slerp starts slowly and then rushes
    assert spread_even < 0.25 and spread_even < spread_linear / 2
    assert np.array_equal(even[0], linear[0]) and np.array_equal(even[-1], linear[-1])  # keyframes stay


def test_a_subset_of_frames_is_placed_as_in_the_whole(portraits: list[Keyframe], taef2: TaeCodec) -> None:
    settings = MorphSettings(size=(64, 64), frames=9, pacing="even")
    whole = [f.pixels for f in render_frames(portraits, taef2, settings)]
    some = {f.index: f.pixels for f in render_frames(portraits, taef2, settings, frame_indices=[6, 2])}
    assert np.array_equal(some[6], whole[6]) and np.array_equal(some[2], whole[2])


def test_paced_times_keep_the_ends_and_follow_the_change() -> None:
    # All the change in the second half: the planned middle lands three quarters of the way.
    remap = paced_times([0.0, 0.5, 1.0], [0.0, 1.0], [0.25, 0.5])
    assert remap[0.0] == 0.0 and remap[1.0] == 1.0
    assert remap[0.5] == pytest.approx(0.75) and remap[0.25] == pytest.approx(0.625)


def test_projects_keep_even_pacing_and_old_ones_stay_linear(
    portraits: list[Keyframe], tmp_path: Path
) -> None:
    save_project(Project(tuple(portraits), MorphSettings(size=SIZE, pacing="even")), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["settings"]["pacing"] == "even"
    assert load_project(tmp_path / "p.json").settings.pacing == "even"
    del doc["settings"]["pacing"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load_project(tmp_path / "old.json").settings.pacing == "linear"
