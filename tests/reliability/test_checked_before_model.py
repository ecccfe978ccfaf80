"""Issue 25: inputs are checked before the model is looked up, loaded or calibrated.

Every case runs where no model can be found at all (no MORPHAPP_MODEL_PATH folder, the
built-in model removed): had the command reached for a model first, it would fail with "no
model found". The input's own error must come instead: exit code 2, one line naming the
file, and nothing written. (test_bad_inputs.py checks the wording of bad pictures with a
model present; the timings of these failures are reported on the issue, not asserted.)
The same cases run once more in a fresh process, which must refuse them without importing torch
(over a second to import): that is what makes a refusal come within a second.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.conftest import cli_env, error_line, run_cli, run_cli_subprocess, snapshot

NO_MODEL = "no model found"


@pytest.fixture
def nowhere(tmp_path: Path, no_builtin: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without any model: an empty model folder, the built-in model removed."""
    empty = tmp_path / "no-models-here"
    empty.mkdir()
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(empty))
    return empty


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _forged_png(width: int, height: int) -> bytes:
    """69 bytes whose header claims ``width`` x ``height``: a bomb's size, without its data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _project(pairs_dir: Path, second: str, settings: dict[str, object], **changes: object) -> str:
    """A saved project of cat.png and ``second``, with ``settings`` and top-level ``changes`` applied."""
    doc: dict[str, object] = {
        "format": "morphapp.project", "version": 1, "model": None,
        "keyframes": [{"type": "image", "path": str(pairs_dir / "cat.png")},
                      {"type": "image", "path": second}],
        "settings": {"size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
                     "loop": "none", "fps": 24, "seed": 0, "segments": [{"steps": 3, "ease": "linear"}],
                     **settings},
    }  # fmt: skip
    doc.update(changes)
    return json.dumps(doc)


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# Each case: (id, makes the command's inputs in a folder, what the one error line must say).
# A maker returns the arguments before -o: keyframes, or a project, with --points where it applies.
Maker = Callable[[Path, Path], list[str | Path]]


def _keyframe(name: str, data: bytes | str | None) -> Maker:
    def make(folder: Path, pairs_dir: Path) -> list[str | Path]:
        bad = folder / name if data is None else _write(folder / name, data)
        return [pairs_dir / "cat.png", bad]

    return make


def _points(text: bytes | str) -> Maker:
    def make(folder: Path, pairs_dir: Path) -> list[str | Path]:
        return [pairs_dir / "cat.png", pairs_dir / "dog.png", "--points", _write(folder / "pts.json", text)]

    return make


def _project_file(text: str | None = None, second: str = "", **settings: object) -> Maker:
    """A project file: ``text`` as it is, or a good project with ``second`` as its second keyframe
    (dog.png by default), ``settings`` changed (a key ``top_KEY`` changes KEY of the document)."""

    def make(folder: Path, pairs_dir: Path) -> list[str | Path]:
        top = {k.removeprefix("top_"): v for k, v in settings.items() if k.startswith("top_")}
        inner = {k: v for k, v in settings.items() if not k.startswith("top_")}
        doc = (
            _project(pairs_dir, second or str(pairs_dir / "dog.png"), inner, **top) if text is None else text
        )
        return [_write(folder / "morph.json", doc)]

    return make


def _truncated_jpeg(folder: Path, pairs_dir: Path) -> list[str | Path]:
    data = (pairs_dir / "house1.jpg").read_bytes()
    return [pairs_dir / "cat.png", _write(folder / "half.jpg", data[: len(data) // 2])]


def _folder_keyframe(folder: Path, pairs_dir: Path) -> list[str | Path]:
    (folder / "album.png").mkdir()
    return [pairs_dir / "cat.png", folder / "album.png"]


CASES: list[tuple[str, Maker, str]] = [
    # keyframes
    ("text-named-png", _keyframe("notes.png", "Shopping list:\n- eggs\n"), "notes.png: not an image"),
    ("truncated-jpeg", _truncated_jpeg, "half.jpg: file is truncated or corrupt"),
    ("empty-file", _keyframe("empty.png", b""), "empty.png: file is empty (0 bytes)"),
    (
        "forged-30000x30000",
        _keyframe("huge.png", _forged_png(30000, 30000)),
        "huge.png: 900,000,000 pixels is over the 256-megapixel limit",
    ),
    ("missing-keyframe", _keyframe("gone.png", None), "gone.png: file not found"),
    ("folder-keyframe", _folder_keyframe, "album.png: is a folder, not an image"),
    # --points
    ("points-bad-json", _points("[[0.1, 0.2, 0.3"), "pts.json: not valid JSON (line 1"),
    ("points-out-of-range", _points("[[0.1, 0.2, 1.5, 0.4]]"), "pts.json: point 1 has 1.5; coordinates are"),
    ("points-not-a-number", _points('[[0.1, 0.2, "x", 0.4]]'), "pts.json: point 1 has 'x'"),
    ("points-nan", _points("[[0.1, NaN, 0.3, 0.4]]"), "pts.json: point 1 has nan"),
    ("points-three-numbers", _points("[[0.1, 0.2, 0.3]]"), "pts.json: point 1 must be [xa, ya, xb, yb]"),
    ("points-not-a-list", _points('{"a": 1}'), "pts.json: expected a list of [xa, ya, xb, yb]"),
    (
        "points-too-many-segments",
        _points(json.dumps([[[0.1, 0.1, 0.2, 0.2]]] * 3)),
        "pts.json: 3 lists of points for 1 segment(s)",
    ),
    (
        "points-not-utf8",
        _points(b"[[0.1, 0.2, 0.3, 0.4]] \xff\xfe"),
        "pts.json: not a points file (not UTF-8 text)",
    ),
    # project files
    ("project-bad-json", _project_file('{"format": "morphapp.project", '), "morph.json: not valid JSON"),
    ("project-not-a-project", _project_file("[1, 2, 3]"), "morph.json: not a morphapp project"),
    (
        "project-keyframes-not-a-list",
        _project_file(top_keyframes="cat.png"),
        "morph.json: keyframes must be a",
    ),
    ("project-newer-version", _project_file(top_version=99), "made by a newer morphapp"),
    ("project-bad-size", _project_file(size="big"), "morph.json: settings.size"),
    ("project-bad-fps", _project_file(fps=-1), "morph.json: --fps -1: must be above 0"),
    ("project-bad-ease", _project_file(segments=[{"steps": 3, "ease": "wobbly"}]), "unknown easing"),
    (
        "project-points-out-of-range",
        _project_file(points=[[[0.1, 0.1, 2.0, 0.2]]]),
        "morph.json: settings.points: segment 1: point 1 has 2.0",
    ),
    ("project-keyframe-missing", _project_file(second="gone.png"), "gone.png: file not found"),
    ("project-keyframe-not-an-image", _project_file(second="morph.json"), "morph.json: not an image Pillow"),
]


def _mkfolder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def test_without_any_model_good_inputs_fail_on_the_model(
    nowhere: Path, pairs_dir: Path, tmp_path: Path
) -> None:
    """The control: with good inputs this machine says it has no model, so the cases below that
    name their input instead must have been checked before any model was looked for."""
    code, err = run_cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif", "-q"
    )
    assert code == 2 and NO_MODEL in error_line(err), err


@pytest.mark.parametrize(("make", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_reported_before_any_model_work(
    nowhere: Path, pairs_dir: Path, tmp_path: Path, make: Maker, problem: str
) -> None:
    inputs = make(_mkfolder(tmp_path), pairs_dir)
    out = tmp_path / "out"
    out.mkdir()
    previous = _write(out / "morph.mp4", b"a previous export, which must survive")
    before = snapshot(tmp_path)

    code, err = run_cli("render", *inputs, "-o", previous, "--size", "64x64", "-q")

    assert code == 2, err
    line = error_line(err)  # exactly one line: never a model error as well, never a traceback
    assert problem in line and NO_MODEL not in line, line
    assert snapshot(tmp_path) == before  # nothing written, nothing left behind


@pytest.mark.parametrize(
    ("output", "extra", "problem"),
    [
        ("m.avi", [], "unknown output type '.avi'"),
        ("a-file/m.gif", [], "a-file is a file, not a folder"),
        ("missing-folder/m.gif", [], "does not exist"),
        ("m.mp4", ["--gif-loops", "2"], "--gif-loops: GIF options, but m.mp4 is"),
        ("m.mp4", ["--resume"], "--resume: only a PNG sequence"),
    ],
    ids=["unknown-type", "under-a-file", "missing-folder", "gif-flag-on-mp4", "resume-a-video"],
)
def test_a_bad_output_is_reported_before_any_model_work(
    nowhere: Path, pairs_dir: Path, tmp_path: Path, output: str, extra: list[str], problem: str
) -> None:
    """Found here: the output was checked only after the model scan, so a machine without a model
    said "no model found" for an output it could never have written."""
    _write(tmp_path / "a-file", "x")
    before = snapshot(tmp_path)
    code, err = run_cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / output, *extra
    )
    assert code == 2, err
    line = error_line(err)
    assert problem in line and NO_MODEL not in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_keyframe_or_points_is_refused_not_read(
    nowhere: Path, pairs_dir: Path, tmp_path: Path, model_path_env: str
) -> None:
    """Opening a FIFO for reading blocks until a writer comes: it must be refused from its
    file type, in a real process (a hang would be a timeout here, not a stuck test run)."""
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    env = cli_env(str(nowhere))  # no model folder, the built-in one removed (the fixture's variable)
    out = tmp_path / "m.gif"
    for args, problem in (
        ([pairs_dir / "cat.png", pipe], "pipe.png: is not a regular file"),
        ([pairs_dir / "cat.png", pairs_dir / "dog.png", "--points", pipe], "pipe.png: points file not found"),
    ):
        result = run_cli_subprocess("render", *args, "-o", out, "-q", cwd=tmp_path, env=env, timeout=120)
        assert result.returncode == 2, result.stderr
        line = error_line(result.stderr)
        assert problem in line and NO_MODEL not in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no-models-here", "pipe.png"]


# Runs the CLI in a fresh interpreter, then says on stdout whether torch was imported on the way.
_TORCH_PROBE = (
    "import sys\n"
    "from morphapp.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print('torch loaded' if 'torch' in sys.modules else 'torch not loaded')\n"
    "sys.exit(code)\n"
)


@pytest.mark.parametrize(("make", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_refused_before_torch_loads(
    nowhere: Path, pairs_dir: Path, tmp_path: Path, make: Maker, problem: str
) -> None:
    """Found here: the refusals took about 2 s, 1.2 s of it importing torch for the parser's choices."""
    inputs = make(_mkfolder(tmp_path), pairs_dir)
    args = ["render", *(str(a) for a in inputs), "-o", str(tmp_path / "m.gif"), "-q"]
    result = subprocess.run(
        [sys.executable, "-c", _TORCH_PROBE, *args],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert problem in error_line(result.stderr), result.stderr
    assert result.stdout.strip() == "torch not loaded"
