from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from morphapp.cli.main import main

FAST = ["--size", "64x48", "--quiet"]


@pytest.fixture(autouse=True)
def _models(model_path_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)


def run_cli(*args: str | Path) -> tuple[int, str]:
    """Run the CLI in-process; return (exit code, stderr)."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def test_gif_export_with_timing(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--frames", "9",
                        "--fps", "20", *FAST)  # fmt: skip
    assert code == 0, err
    with Image.open(out) as im:
        assert im.n_frames == 9 and im.size == (64, 48)
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    assert durations == [50] * 9


def test_mp4_export_frame_count_and_fps(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.mp4"
    keys = [pairs_dir / "lion.png", pairs_dir / "tiger.png"]
    code, err = run_cli("render", *keys, "-o", out, "--frames", "10", "--fps", "30", "--loop", "loop", *FAST)
    assert code == 0, err
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 30
        assert sum(1 for _ in container.decode(stream)) == 10


def test_project_reproduces_the_same_frames(pairs_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "morph.json"
    first = tmp_path / "first"
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", pairs_dir / "lion.png",
                        "-o", first, "--segment-frames", "3,2", "--ease", "ease-in-out", "--hold", "1",
                        "--save-project", project, *FAST)  # fmt: skip
    assert code == 0, err
    second = tmp_path / "second"
    code, err = run_cli("render", project, "-o", second, "--quiet")
    assert code == 0, err
    names = sorted(p.name for p in first.glob("*.png"))
    assert len(names) == 3 + 2 + 1 + 3  # segments + final keyframe + one hold per keyframe
    assert names == sorted(p.name for p in second.glob("*.png"))
    for name in names:
        assert np.array_equal(np.asarray(Image.open(first / name)), np.asarray(Image.open(second / name)))
    sidecar = json.loads((first / "morph.json").read_text())
    assert sidecar["fps"] == 24


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [
        (lambda d: d / "missing.png", "missing.png: file not found"),
        (lambda d: _write(d / "empty.png", b""), "empty.png"),
        (lambda d: _write(d / "notes.jpg", b"just some text, not a picture\n"), "notes.jpg"),
    ],
)
def test_bad_keyframes_exit_2_with_one_line_and_write_nothing(
    pairs_dir: Path,
    tmp_path: Path,
    make_input,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    bad = make_input(inputs)
    out = tmp_path / "out.gif"
    code, err = run_cli("render", pairs_dir / "cat.png", bad, "-o", out, *FAST)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("morphapp: error: ") and expected in lines[0], err
    assert list(tmp_path.iterdir()) == [inputs]


def test_unknown_model_and_unwritable_outputs(pairs_dir: Path, tmp_path: Path) -> None:
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    code, err = run_cli("render", *keys, "-o", tmp_path / "x.gif", "--model", "sdxl-turbo", *FAST)
    assert code == 2 and "--model sdxl-turbo: no such model" in err and "MORPHAPP_MODEL_PATH" in err
    (tmp_path / "a-file").write_text("x")
    code, err = run_cli("render", *keys, "-o", tmp_path / "a-file" / "x.gif", *FAST)
    assert code == 2 and "is a file, not a folder" in err
    (tmp_path / "folder.gif").mkdir()
    code, err = run_cli("render", *keys, "-o", tmp_path / "folder.gif", *FAST)
    assert code == 2 and "folder.gif" in err
    code, err = run_cli("render", *keys, "-o", tmp_path / "x.avi", *FAST)
    assert code == 2 and ".avi" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "folder.gif"]


def test_size_is_rounded_with_a_note(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--size", "60x45",
                        "--frames", "3")  # fmt: skip
    assert code == 0
    assert "rounded to 64x48" in err
    with Image.open(out) as im:
        assert im.size == (64, 48)


def test_models_lists_taef2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    taef2 = next(m for m in doc["models"] if m["name"] == "taef2")
    assert taef2["latent_channels"] == 32 and taef2["can_encode"] and taef2["size_bytes"] > 5_000_000
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert "taef2" in table and "32 ch" in table and "FLUX.2" in table


def test_subprocess_error_has_no_traceback(tmp_path: Path, model_path_env: str) -> None:
    env = {**os.environ, "MORPHAPP_MODEL_PATH": model_path_env}
    result = subprocess.run(
        [sys.executable, "-m", "morphapp", "render", "a.png", "b.png", "-o", str(tmp_path / "o.gif")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "morphapp: error: a.png: file not found"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_gif_palette_dither_and_loops_from_the_command_line(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    gif = ["--gif-palette", "global", "--gif-dither", "none", "--gif-loops", "3"]
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--frames", "6",
                        *gif, *FAST)  # fmt: skip
    assert code == 0, err
    data = out.read_bytes()
    assert data[10] & 0x87 == 0x87  # one 256-colour global table
    at = data.index(b"NETSCAPE2.0")
    assert data[at + 13 : at + 15] == (2).to_bytes(2, "little")  # 3 plays = 2 repeats
    with Image.open(out) as im:
        assert im.n_frames == 6
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.mp4",
                        "--gif-palette", "global", *FAST)  # fmt: skip
    assert code == 2 and "--gif-palette: GIF options, but m.mp4 is mp4" in err
    assert not (tmp_path / "m.mp4").exists()


def test_in_an_app_bundle_pip_advice_says_what_to_do_instead(
    pairs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PyInstaller bundle (sys.frozen) has no pip: an error advising `pip install` an extra says
    the bundle leaves the feature out."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # as in the bundle, which leaves Ray out
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif",
                        "--workers", "2", *FAST)  # fmt: skip
    assert code == 2
    assert "pip install 'morphapp[cluster]'" in err and "this app bundle leaves that feature out" in err
    monkeypatch.setattr(sys, "frozen", False)
    code, err = run_cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif",
                        "--workers", "2", *FAST)  # fmt: skip
    assert code == 2 and "app bundle" not in err
