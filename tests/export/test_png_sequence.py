"""PNG-sequence output: a folder of frames plus morph.json, replaced atomically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from morphapp.errors import OutputError
from morphapp.export import open_writer
from tests.export.helpers import load_rgb, synthetic_frames


def _export(target: Path, count: int, *, fps: float = 12, metadata: dict | None = None) -> list[np.ndarray]:
    sources = synthetic_frames(count)
    with open_writer(target, fps=fps, metadata=metadata) as writer:
        for frame in sources:
            writer.write(frame)
    return sources


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


def test_frames_and_sidecar(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    metadata = {"prompt": "cat to dog", "seed": 3}
    sources = _export(target, 4, fps=12.5, metadata=metadata)
    names = [f"frame_{i:05d}.png" for i in range(4)]
    assert sorted(p.name for p in target.iterdir()) == [*names, "morph.json"]
    for name, source in zip(names, sources, strict=True):
        np.testing.assert_array_equal(load_rgb(target / name), source)  # lossless
    sidecar = json.loads((target / "morph.json").read_text())
    assert sidecar["fps"] == 12.5
    assert sidecar["frame_count"] == 4
    assert sidecar["frames"] == names
    assert (sidecar["width"], sidecar["height"]) == (64, 48)
    assert sidecar["metadata"] == metadata
    assert _siblings(target) == ["frames"]  # no temp folder left


def test_replaces_a_previous_export_only_at_commit(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    _export(target, 5)
    with open_writer(target, fps=12) as writer:
        for frame in synthetic_frames(3):
            writer.write(frame)
        # Until commit the previous export is untouched.
        assert json.loads((target / "morph.json").read_text())["frame_count"] == 5
    assert sorted(p.name for p in target.iterdir()) == [f"frame_{i:05d}.png" for i in range(3)] + [
        "morph.json"
    ]
    assert json.loads((target / "morph.json").read_text())["frame_count"] == 3
    assert _siblings(target) == ["frames"]


def test_failed_export_keeps_previous_one(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    _export(target, 3)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(RuntimeError), open_writer(target, fps=12) as writer:
        writer.write(synthetic_frames(1)[0] // 2)
        raise RuntimeError("render failed")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert _siblings(target) == ["frames"]


def test_empty_existing_folder_is_used(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    target.mkdir()
    _export(target, 2)
    assert (target / "morph.json").is_file() and (target / "frame_00001.png").is_file()


def test_refuses_a_folder_that_is_not_a_previous_export(tmp_path: Path) -> None:
    target = tmp_path / "holiday photos"
    target.mkdir()
    (target / "beach.jpg").write_bytes(b"not ours")
    with pytest.raises(OutputError, match="not a previous morphapp export"):
        open_writer(target, fps=12)
    assert (target / "beach.jpg").read_bytes() == b"not ours"
    assert _siblings(target) == ["holiday photos"]


def test_refuses_a_previous_export_with_user_files_added(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    _export(target, 2)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"notes\.txt"):
        open_writer(target, fps=12)
    assert (target / "notes.txt").read_text() == "mine"


def test_refuses_an_unrelated_morph_json(tmp_path: Path) -> None:
    target = tmp_path / "other"
    target.mkdir()
    (target / "morph.json").write_text('{"something": "else"}')
    with pytest.raises(OutputError):
        open_writer(target, fps=12)
    assert (target / "morph.json").read_text() == '{"something": "else"}'


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    target.write_bytes(b"file")
    with pytest.raises(OutputError, match="is a file"):
        open_writer(target, fps=12, format="png")
    assert target.read_bytes() == b"file"
