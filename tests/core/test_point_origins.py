"""Issue 24: which point pairs auto-align found and which the user placed, kept in the project
file beside the coordinates (never inside them), and the re-align rule that keeps hand pairs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import hypothesis
import pytest
from hypothesis import strategies as st

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.point_merge import HAND_CLEARANCE, merge_all, merge_realigned, without_auto
from morphapp.core.domain.point_origins import AUTO, HAND, segment_origins
from morphapp.core.domain.project import (
    Project,
    export_metadata,
    load_project,
    project_from_dict,
    save_project,
)
from morphapp.core.domain.settings import MorphSettings
from morphapp.errors import InputError

SEG_1 = ((0.1, 0.2, 0.15, 0.25), (0.5, 0.5, 0.52, 0.48), (0.8, 0.3, 0.7, 0.35))
SEG_2 = ((0.3, 0.3, 0.3, 0.3),)


@pytest.fixture
def project_dir(tmp_path: Path, pairs_dir: Path) -> Path:
    for name in ("cat.png", "dog.png"):
        shutil.copy(pairs_dir / name, tmp_path / name)
    return tmp_path


def _project(folder: Path, **settings: object) -> Project:
    keyframes = (Keyframe(folder / "cat.png"), Keyframe(folder / "dog.png"))
    return Project(keyframes, MorphSettings(size=(64, 64), loop="loop", **settings))  # type: ignore[arg-type]


def test_origins_round_trip_through_the_project_file_beside_unchanged_points(project_dir: Path) -> None:
    origins = ((AUTO, HAND, AUTO), (HAND,))
    target = project_dir / "morph.json"
    save_project(_project(project_dir, points=(SEG_1, SEG_2), point_origins=origins), target)
    doc = json.loads(target.read_text())
    assert doc["settings"]["point_origins"] == [["auto", "hand", "auto"], ["hand"]]
    # The coordinates are stored exactly as before: four numbers a pair, what the renderer reads.
    assert doc["settings"]["points"] == [[list(p) for p in SEG_1], [list(p) for p in SEG_2]]

    loaded = load_project(target)
    assert loaded.settings.points == (SEG_1, SEG_2)
    assert loaded.settings.point_origins == origins


def test_hand_placed_points_are_saved_as_before(project_dir: Path) -> None:
    """No automatic pair: no new key, byte for byte the file an older morphapp wrote."""
    old = project_dir / "old.json"
    save_project(_project(project_dir, points=(SEG_1, SEG_2)), old)
    new = project_dir / "new.json"
    save_project(_project(project_dir, points=(SEG_1, SEG_2), point_origins=((HAND,) * 3, (HAND,))), new)
    assert "point_origins" not in json.loads(old.read_text())["settings"]
    assert new.read_bytes() == old.read_bytes()


def test_an_old_project_loads_with_its_points_all_by_hand(project_dir: Path) -> None:
    """A project saved before origins existed: plain [xa, ya, xb, yb] lists and no point_origins."""
    old = {
        "format": "morphapp.project", "version": 1,
        "keyframes": [{"type": "image", "path": "cat.png"}, {"type": "image", "path": "dog.png"}],
        "model": None,
        "settings": {
            "size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
            "loop": "none", "fps": 24, "seed": 0, "segments": [{"steps": 8, "ease": "linear"}],
            "points": [[list(p) for p in SEG_1]], "warp": "pixel",
        },
    }  # fmt: skip
    project = project_from_dict(old, project_dir, "old.json")
    assert project.settings.points == (SEG_1,)
    assert project.settings.point_origins is None
    assert segment_origins(project.settings.points, project.settings.point_origins, 0) == (HAND,) * 3
    # Saved again it is the same document (the hashes filled in are the only addition).
    again = project_dir / "again.json"
    save_project(project, again)
    settings = json.loads(again.read_text())["settings"]
    assert settings["points"] == old["settings"]["points"] and "point_origins" not in settings  # type: ignore[index]


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("auto", 'expected one list of "auto" / "hand" per segment'),
        ([["auto", "auto", "auto"]], "1 list(s) of origins for 2 list(s) of points"),
        ([["auto", "hand"], ["hand"]], "segment 1: 2 origins for 3 point pairs"),
        (
            [["auto", "hand", "robot"], ["hand"]],
            'segment 1: point 3 has origin \'robot\'; expected "auto" or "hand"',
        ),
        ([["auto", "hand", "auto"], [None]], "segment 2: point 1 has origin None"),
    ],
)
def test_malformed_origins_name_the_file_segment_and_point(
    project_dir: Path, origins: object, message: str
) -> None:
    target = project_dir / "bad.json"
    save_project(_project(project_dir, points=(SEG_1, SEG_2), point_origins=((AUTO,) * 3, (HAND,))), target)
    doc = json.loads(target.read_text())
    doc["settings"]["point_origins"] = origins
    target.write_text(json.dumps(doc))
    with pytest.raises(InputError) as caught:
        load_project(target)
    assert str(caught.value).startswith(f"{target}: settings.point_origins: "), caught.value
    assert message in str(caught.value)


def test_origins_without_points_are_refused(project_dir: Path) -> None:
    target = project_dir / "bad.json"
    save_project(_project(project_dir), target)
    doc = json.loads(target.read_text())
    doc["settings"]["point_origins"] = [["auto"]]
    target.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="origins given without points"):
        load_project(target)


def test_an_export_carries_the_points_but_not_their_origins(project_dir: Path) -> None:
    """Origins are for editing: an export's metadata (and so its bytes) is the same either way."""
    plain = export_metadata(_project(project_dir, points=(SEG_1, SEG_2)), project_dir)
    marked = _project(project_dir, points=(SEG_1, SEG_2), point_origins=((AUTO,) * 3, (HAND,)))
    assert export_metadata(marked, project_dir) == plain
    assert "point_origins" in export_metadata(marked, project_dir, embed_project=True)["settings"]


def test_a_realign_keeps_hand_pairs_replaces_automatic_ones_and_clears_room_around_hand_pairs() -> None:
    hand_pair = (0.5, 0.5, 0.52, 0.48)
    points = ((0.1, 0.1, 0.1, 0.1), hand_pair, (0.9, 0.9, 0.9, 0.9))
    origins = (AUTO, HAND, AUTO)
    near_on_a = (0.5 + HAND_CLEARANCE / 2, 0.5, 0.8, 0.2)  # close to the hand pair on keyframe a only
    near_on_b = (0.2, 0.8, 0.52, 0.48 - HAND_CLEARANCE / 2)  # ... on keyframe b only
    clear = (0.5 + 2 * HAND_CLEARANCE, 0.5, 0.52 + 2 * HAND_CLEARANCE, 0.48)
    found = ((0.12, 0.1, 0.1, 0.1), near_on_a, near_on_b, clear)

    merged = merge_realigned(points, origins, found)
    assert merged.points == (hand_pair, (0.12, 0.1, 0.1, 0.1), clear)  # the old automatic pairs are gone
    assert merged.origins == (HAND, AUTO, AUTO)
    assert (merged.kept_hand, merged.dropped_auto) == (1, 2)
    assert without_auto(merged.points, merged.origins) == (hand_pair,)


def test_a_realign_of_a_whole_morph_fills_new_segments_and_keeps_hand_pairs_per_segment() -> None:
    found = ((SEG_1[0],), ((0.9, 0.1, 0.9, 0.1),), ((0.4, 0.4, 0.4, 0.4),))
    points, origins = merge_all((SEG_1, SEG_2), ((AUTO, AUTO, HAND), (AUTO,)), found)
    assert points == ((SEG_1[2], SEG_1[0]), ((0.9, 0.1, 0.9, 0.1),), ((0.4, 0.4, 0.4, 0.4),))
    assert origins == ((HAND, AUTO), (AUTO,), (AUTO,))
    # Nothing recorded (a points file, an old project): every pair is the user's and stays.
    points, origins = merge_all((SEG_2,), None, ((),))
    assert points == (SEG_2,) and origins is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(["auto", "hand", "", "AUTO"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(origins=_JSON)
@hypothesis.example(origins=[["auto", "auto"]])  # the valid values, every run, not only when drawn
@hypothesis.example(origins=[["auto", "hand"]])
def test_any_point_origins_value_loads_or_is_refused_in_one_line(origins: object) -> None:
    doc = {
        "format": "morphapp.project", "version": 1, "model": None,
        # two keyframes (never read here): a valid value must load, not fail on "at least two keyframes"
        "keyframes": [{"type": "image", "path": "a.png"}, {"type": "image", "path": "b.png"}],
        "settings": {
            "size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
            "loop": "none", "fps": 24, "seed": 0, "segments": [],
            "points": [[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]]], "point_origins": origins,
        },
    }  # fmt: skip
    try:
        project = project_from_dict(doc, Path("."), "fuzz.json")
    except InputError as exc:
        assert str(exc).startswith("fuzz.json: settings.point_origins: ") and "\n" not in str(exc)
    else:
        assert origins == [["auto", "hand"]] or origins == [["auto", "auto"]] or origins == [["hand", "hand"]]
        assert project.settings.points is not None
