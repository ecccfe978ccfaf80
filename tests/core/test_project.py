from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, load_project, save_project, with_hashes
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.errors import InputError


@pytest.fixture
def project_dir(tmp_path: Path, pairs_dir: Path) -> Path:
    (tmp_path / "img").mkdir()
    for name in ("cat.png", "dog.png"):
        shutil.copy(pairs_dir / name, tmp_path / "img" / name)
    return tmp_path


def test_round_trip_keeps_everything_and_stores_relative_paths(project_dir: Path) -> None:
    settings = MorphSettings(size=(256, 128), fit="pad", background=(0, 16, 255), path="lerp", ease="ease-in",
                             hold=2, loop="pingpong", fps=12.5, frames=30, seed=7)  # fmt: skip
    project = Project(
        (Keyframe(project_dir / "img/cat.png"), Keyframe(project_dir / "img/dog.png")), settings, "taef2"
    )
    target = project_dir / "morph.json"
    save_project(with_hashes(project), target)
    doc = json.loads(target.read_text())
    assert doc["version"] == 1 and doc["keyframes"][0]["path"] == "img/cat.png"
    assert len(doc["keyframes"][0]["sha256"]) == 64

    loaded = load_project(target)
    assert loaded.model == "taef2"
    assert [k.path.resolve() for k in loaded.keyframes] == [k.path.resolve() for k in project.keyframes]
    s = loaded.settings
    assert (s.size, s.fit, s.background, s.path, s.hold, s.loop, s.fps, s.seed) == (
        (256, 128), "pad", (0, 16, 255), "lerp", 2, "pingpong", 12.5, 7
    )  # fmt: skip
    # Timing is stored resolved, so the project gives the same segments without the 'frames' rule.
    assert (
        loaded.settings.segment_specs(2)
        == settings.segment_specs(2)
        == [SegmentSpec(s.segments[0].steps, "ease-in")]
    )


def test_moving_the_project_folder_keeps_keyframes(
    project_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = Project(
        (Keyframe(project_dir / "img/cat.png"), Keyframe(project_dir / "img/dog.png")), MorphSettings()
    )
    save_project(project, project_dir / "p.json")
    moved = tmp_path_factory.mktemp("moved") / "proj"
    shutil.copytree(project_dir, moved)
    loaded = load_project(moved / "p.json")
    assert all(k.path.is_file() and moved in k.path.parents for k in loaded.keyframes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"not valid JSON \(line 1, column 2"),
        ('{"format": "something-else"}', "not a morphapp project"),
        ('{"format": "morphapp.project", "version": 9}', "made by a newer morphapp"),
        ('{"format": "morphapp.project", "version": 1, "keyframes": []}', "missing settings"),
        (
            '{"format": "morphapp.project", "version": 1, "keyframes": "x", "settings": {}}',
            "keyframes must be a list",
        ),
    ],
)
def test_malformed_projects_give_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        load_project(path)
    assert "p.json" in str(err.value)


def test_bad_field_values_are_named(tmp_path: Path, project_dir: Path) -> None:
    project = Project(
        (Keyframe(project_dir / "img/cat.png"), Keyframe(project_dir / "img/dog.png")), MorphSettings()
    )
    path = tmp_path / "p.json"
    save_project(project, path)
    doc = json.loads(path.read_text())
    for field, value, message in [
        ("fps", "fast", "settings.fps must be a number"),
        ("size", [100, 100], "multiples of 8"),
        ("loop", "spiral", "--loop spiral"),
        ("background", "blue", "colour like #ffffff"),
    ]:
        broken = json.loads(json.dumps(doc))
        broken["settings"][field] = value
        path.write_text(json.dumps(broken))
        with pytest.raises(InputError, match=message):
            load_project(path)


def test_binary_file_is_not_a_project(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not a morphapp project|not valid JSON"):
        load_project(path)
