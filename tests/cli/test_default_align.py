"""Automatic alignment is the default for a new morph of images (issue 22); ``--align none`` turns it
off, a saved project re-renders with the points it stores, and the note says what happened in words.
Issue 24: the points auto-align found are recorded as automatic, ``--align auto`` run again on a
project keeps the hand-placed ones, and the origins change no byte of a render."""

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
    """One house, framed twice: b's window is 24 px right and 12 px down of a's."""
    big = load_image(pairs_dir / "house1.jpg", (320, 320)).pixels
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.ascontiguousarray(big[0:256, 0:256])).save(a)
    Image.fromarray(np.ascontiguousarray(big[12:268, 24:280])).save(b)
    return a, b


def test_a_plain_render_aligns_and_says_so_in_words(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    project = tmp_path / "p.json"
    code, err = _cli("render", *reframed, "-o", tmp_path / "out", "--size", "128x128", "--frames", "5",
                     "--save-project", project)  # fmt: skip
    assert code == 0, err
    # A shift of 9 % of the frame: a camera move (core/align/camera.py), the whole frame travelling.
    assert "segment 1: one scene framed twice: the camera moves" in err, err  # words first ...
    assert "segment 1: auto-align: camera" in err  # ... then the figures
    points = json.loads(project.read_text())["settings"]["points"][0]
    moves = np.array([(xb - xa, yb - ya) for xa, ya, xb, yb in points]) * 256
    assert np.abs(np.median(moves, axis=0) - (-24, -12)).max() < 2.0


def test_align_none_is_a_plain_morph(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    project = tmp_path / "p.json"
    code, err = _cli("render", *reframed, "--align", "none", "--save-project", project, "--size", "128x128")
    assert code == 0, err
    assert "auto-align" not in err and "points" not in json.loads(project.read_text())["settings"]


def test_a_saved_project_renders_with_its_own_points(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    project = tmp_path / "p.json"
    code, err = _cli("render", *reframed, "--align", "none", "--save-project", project, "--size", "128x128")
    assert code == 0, err
    doc = json.loads(project.read_text())
    doc["settings"]["points"] = [[[0.5, 0.5, 0.45, 0.48]]]  # placed by hand, say
    doc["settings"]["warp"] = "pixel"
    project.write_text(json.dumps(doc))
    out = tmp_path / "out"
    code, err = _cli("render", project, "-o", out, "--frames", "3")
    assert (
        code == 2 and "--frames 3: too few for 2 keyframes with --loop none and --hold 6" in err
    )  # its rests
    code, err = _cli("render", project, "-o", out, "--frames", "3", "--hold", "0")
    assert code == 0, err
    assert "auto-align" not in err  # nothing re-aligned behind the user's back
    sidecar = json.loads((out / "morph.json").read_text())["metadata"]["settings"]
    assert sidecar["points"] == [[[0.5, 0.5, 0.45, 0.48]]] and sidecar["warp"] == "pixel"
    plain = tmp_path / "plain.json"
    del doc["settings"]["points"]
    plain.write_text(json.dumps(doc))
    code, err = _cli("render", plain, "-o", tmp_path / "out2", "--frames", "3", "--hold", "0")
    assert (
        code == 0
        and "auto-align" not in err
        and "points" not in json.loads((tmp_path / "out2" / "morph.json").read_text())["metadata"]["settings"]
    )


def test_unrelated_pictures_get_a_plain_morph_and_a_hint(pairs_dir: Path, tmp_path: Path) -> None:
    code, err = _cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "out",
                     "--size", "64x48", "--frames", "3")  # fmt: skip
    assert code == 0, err
    assert "no shared subject found to line up: a plain cross-dissolve here" in err, err
    assert "--points" in err


def test_a_contradiction_fails_before_any_alignment(reframed: tuple[Path, Path], tmp_path: Path) -> None:
    code, err = _cli(
        "render", *reframed, "-o", tmp_path / "m.gif", "--backend", "onnx", "--precision", "bf16"
    )
    assert code == 2 and err.count("\n") == 1 and "auto-align" not in err, err


def test_a_new_morph_is_evenly_paced_and_a_project_keeps_its_pacing(
    reframed: tuple[Path, Path], tmp_path: Path
) -> None:
    even, linear = tmp_path / "even.json", tmp_path / "linear.json"
    assert _cli("render", *reframed, "--save-project", even, "--size", "64x64")[0] == 0
    assert (
        _cli("render", *reframed, "--save-project", linear, "--size", "64x64", "--pacing", "linear")[0] == 0
    )
    assert json.loads(even.read_text())["settings"]["pacing"] == "even"
    assert "pacing" not in json.loads(linear.read_text())["settings"]
    again = tmp_path / "again.json"
    assert _cli("render", linear, "--save-project", again)[0] == 0  # a project renders as it was saved
    assert "pacing" not in json.loads(again.read_text())["settings"]


def test_a_bad_picture_is_reported_before_any_model_work(
    pairs_dir: Path, tmp_path: Path, no_builtin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: a text file named .png is the error, not a missing model found later (nor a model
    loaded and calibrated first): keyframes are opened before anything else."""
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "no-models-here"))
    fake = tmp_path / "holiday.png"
    fake.write_text("not a picture\n")
    for align in ("none", "auto"):
        code, err = _cli("render", fake, pairs_dir / "cat.png", "-o", tmp_path / "m.gif", "--align", align)
        assert code == 2 and err.count("\n") == 1 and "holiday.png: not an image" in err, err
    assert not (tmp_path / "m.gif").exists()


def test_cli_words_list_each_extension_once_and_state_the_real_range(pairs_dir: Path, tmp_path: Path) -> None:
    """Issue 24: '.mp4, .mp4, .mp4, .mp4' and '--fps 0.0: must be between 0 and 240'."""
    keys = (pairs_dir / "cat.png", pairs_dir / "dog.png")
    code, err = _cli("render", *keys, "-o", tmp_path / "x.avi")
    assert code == 2 and err.count(".mp4") == 1 and "unknown output type '.avi'" in err, err
    code, err = _cli("render", *keys, "-o", tmp_path / "x.gif", "--fps", "0")
    assert code == 2 and "--fps 0: must be above 0 and at most 240" in err, err


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
