"""Issue 24: the command line records which points auto-align found, keeps hand-placed ones when
``--align auto`` runs again on a project, and renders the same whatever the origins say."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from morphapp.cli.main import main
from morphapp.core.imaging.load import load_image


@pytest.fixture(autouse=True)
def _models(model_path_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)


def _cli(*args: str | Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


@pytest.fixture
def reframed(pairs_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """One house framed twice (auto-align finds it in well under a second)."""
    big = load_image(pairs_dir / "house1.jpg", (320, 320)).pixels
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.ascontiguousarray(big[0:256, 0:256])).save(a)
    Image.fromarray(np.ascontiguousarray(big[12:268, 24:280])).save(b)
    return a, b


def test_auto_points_are_marked_and_a_realign_keeps_the_hand_ones(
    reframed: tuple[Path, Path], tmp_path: Path
) -> None:
    project = tmp_path / "p.json"
    code, err = _cli("render", *reframed, "--size", "128x128", "--save-project", project)
    assert code == 0, err
    doc = json.loads(project.read_text())
    points, origins = doc["settings"]["points"][0], doc["settings"]["point_origins"][0]
    assert len(points) >= 9 and origins == ["auto"] * len(points)

    hand = [0.33, 0.44, 0.3, 0.4]  # the user moved the first pair: it is theirs now
    doc["settings"]["points"][0][0] = hand
    doc["settings"]["point_origins"][0][0] = "hand"
    project.write_text(json.dumps(doc))
    again = tmp_path / "again.json"
    code, err = _cli("render", project, "--align", "auto", "--save-project", again)
    assert code == 0, err
    settings = json.loads(again.read_text())["settings"]
    assert settings["points"][0][0] == hand and settings["point_origins"][0][0] == "hand"
    assert settings["point_origins"][0][1:] == ["auto"] * (len(settings["points"][0]) - 1)
    assert len(settings["points"][0]) >= len(points) - 2  # only the automatic pairs beside it left out


def test_a_points_file_is_by_hand(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    points = tmp_path / "points.json"
    points.write_text("[[0.5, 0.5, 0.45, 0.48]]")
    project = tmp_path / "p.json"
    code, err = _cli("render", *reframed, "--points", points, "--size", "64x64", "--save-project", project)
    assert code == 0, err
    settings = json.loads(project.read_text())["settings"]
    assert settings["points"] == [[[0.5, 0.5, 0.45, 0.48]]] and "point_origins" not in settings


def test_origins_change_no_byte_of_a_render(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    marked = tmp_path / "marked.json"
    code, err = _cli("render", *reframed, "--size", "64x64", "--save-project", marked)
    assert code == 0, err
    doc = json.loads(marked.read_text())
    assert "point_origins" in doc["settings"]
    del doc["settings"]["point_origins"]  # the same project as an older morphapp saved it
    unmarked = tmp_path / "unmarked.json"
    unmarked.write_text(json.dumps(doc))
    outputs = []
    for project in (marked, unmarked):
        out = tmp_path / f"{project.stem}-frames"
        code, err = _cli("render", project, "-o", out, "--frames", "4", "--hold", "0", "-q")
        assert code == 0, err
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert len(outputs[0]) >= 5  # four frames and the sidecar
    assert outputs[0] == outputs[1]
