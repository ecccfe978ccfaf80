"""Guarantees 6 and 7: the same project gives the same frames; a killed PNG export resumes.

A project is saved once; a reference render of it (a real ``morphapp`` process) gives the
sha256 of every frame. Rendering it again must give the same hashes; so must a render that
was killed with SIGKILL midway and then finished with ``--resume``, which keeps the frames the
killed run completed and renders only the missing ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from morphapp.errors import OutputError
from morphapp.export import open_writer
from morphapp.export.png_sequence import PARTIAL_NAME, PngSequenceWriter
from tests.export.helpers import synthetic_frame
from tests.reliability.conftest import (
    SIZE,
    cli_env,
    error_line,
    frame_hashes,
    kill_hard,
    run_cli,
    run_cli_subprocess,
    start_cli,
    temp_entries,
    temp_frames,
    wait_until,
)

FRAMES = 16


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pairs_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("project")
    path = folder / "morph.json"
    keys = (pairs_dir / "house0.jpg", pairs_dir / "house1.jpg")
    code, err = run_cli("render", *keys, "--size", SIZE, "--frames", FRAMES, "--ease", "ease-in-out",
                        "--save-project", path, "-q")  # fmt: skip
    assert code == 0, err
    return path


@pytest.fixture(scope="module")
def reference(project: Path, model_path_env: str) -> dict[str, str]:
    """sha256 of every frame of one uninterrupted render of the project (a real process)."""
    out = project.parent / "reference"
    result = run_cli_subprocess(
        "render", project, "-o", out, "-q", cwd=project.parent, env=cli_env(model_path_env)
    )
    assert result.returncode == 0, result.stderr
    hashes = frame_hashes(out)
    assert len(hashes) == FRAMES and len(set(hashes.values())) > FRAMES // 2  # a real morph
    return hashes


def test_same_project_renders_identical_frames(
    project: Path, reference: dict[str, str], model_path_env: str
) -> None:
    out = project.parent / "again"
    result = run_cli_subprocess(
        "render", project, "-o", out, "-q", cwd=project.parent, env=cli_env(model_path_env)
    )
    assert result.returncode == 0, result.stderr
    assert frame_hashes(out) == reference


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals (SIGKILL)")
def test_killed_png_export_resumes_with_the_same_frames(
    project: Path, reference: dict[str, str], model_path_env: str, tmp_path: Path
) -> None:
    target = tmp_path / "frames"
    proc = start_cli("render", project, "-o", target, "-q", cwd=tmp_path, env=cli_env(model_path_env))
    wait_until(lambda: len(temp_frames(target)) >= 3, proc)
    assert proc.poll() is None, "the render finished before it could be killed; make it longer"
    kill_hard(proc)
    assert not target.exists()
    (leftover,) = temp_entries(target)
    done = {p.name: p.stat() for p in temp_frames(target)}
    assert 3 <= len(done) < FRAMES

    # Other settings: refused, and the unfinished export is kept for a correct resume.
    code, err = run_cli("render", project, "-o", target, "--resume", "--fps", "12", "-q")
    assert (
        code == 2
        and "cannot resume: the unfinished export there was made with other settings" in error_line(err)
    )
    assert {p.name for p in temp_frames(target)} == set(done) and (leftover / PARTIAL_NAME).is_file()
    # Other pictures with the same settings: refused too, though exports no longer carry the
    # keyframes' hashes (issue 25); the digest lives in the unfinished export's state file only.
    other = json.loads(project.read_text())
    other["keyframes"][1] = dict(other["keyframes"][0])  # house0 twice: same settings, other pictures
    (project.parent / "other.json").write_text(json.dumps(other))  # beside it: relative paths hold
    code, err = run_cli("render", project.parent / "other.json", "-o", target, "--resume", "-q")
    assert code == 2 and "cannot resume" in error_line(err), err

    code, err = run_cli("render", project, "-o", target, "--resume")
    assert code == 0, err
    assert f"note: resuming: {len(done)} of {FRAMES} frames already done" in err
    assert f"({FRAMES - len(done)} rendered now)" in err
    assert frame_hashes(target) == reference  # byte-identical to the uninterrupted render
    for name, before in done.items():  # the kept frames were not rendered again
        after = (target / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in target.iterdir()) == [*sorted(reference), "morph.json"]
    assert json.loads((target / "morph.json").read_text())["frame_count"] == FRAMES
    assert temp_entries(target) == []


def test_resume_is_only_for_png_sequences(tmp_path: Path, keys: list[Path]) -> None:
    code, err = run_cli("render", *keys, "-o", tmp_path / "m.mp4", "--resume")
    assert code == 2 and "--resume: only a PNG sequence" in error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_resume_with_nothing_to_resume_renders_everything(tmp_path: Path, keys: list[Path]) -> None:
    code, err = run_cli(
        "render", *keys, "-o", tmp_path / "frames", "--resume", "--size", SIZE, "--frames", "3"
    )
    assert code == 0, err
    assert "note: nothing to resume" in err
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 3


def test_resume_trusts_only_complete_frames(tmp_path: Path) -> None:
    # Engine level, all the ways a killed export can leave its folder.
    target = tmp_path / "frames"
    key = {"model": "m:1"}
    first = open_writer(target, fps=10, frame_count=6, resume_key=key)
    for i in range(4):
        first.write(synthetic_frame(i))
    del first  # killed: no commit, no abort
    (leftover,) = temp_entries(target)
    (leftover / "frame_00001.png").write_bytes((leftover / "frame_00001.png").read_bytes()[:100])  # torn
    (leftover / "frame_00004.png.tmp").write_bytes(b"\x89PNG half a frame")  # killed mid-write
    (leftover / "frame_00003.png").unlink()

    with pytest.raises(OutputError, match="cannot resume"):
        open_writer(target, fps=10, frame_count=6, resume_key={"model": "m:2"}, resume=True)
    resumed = open_writer(target, fps=10, frame_count=6, resume_key=key, resume=True)
    assert isinstance(resumed, PngSequenceWriter)
    assert resumed.temp_path == leftover and resumed.resumed == 2
    assert resumed.pending == [1, 3, 4, 5]
    with resumed:
        for i in resumed.pending:
            resumed.write(synthetic_frame(i))
    names = [f"frame_{i:05d}.png" for i in range(6)]
    assert sorted(p.name for p in target.iterdir()) == [*names, "morph.json"]
    assert json.loads((target / "morph.json").read_text())["frames"] == names
    from PIL import Image

    for i, name in enumerate(names):
        assert np.array_equal(np.asarray(Image.open(target / name)), synthetic_frame(i))
    assert temp_entries(target) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals (SIGKILL)")
def test_a_killed_ray_render_resumes_on_a_new_ray_instance_with_the_frames_of_one_process(
    project: Path, reference: dict[str, str], model_path_env: str, tmp_path: Path
) -> None:
    target = tmp_path / "frames"
    env = cli_env(model_path_env)
    proc = start_cli("render", project, "-o", target, "--workers", "2", "-q", cwd=tmp_path, env=env)
    wait_until(lambda: len(temp_frames(target)) >= 2, proc, timeout=120)  # Ray takes seconds to start
    assert proc.poll() is None, "the render finished before it could be killed; make it longer"
    kill_hard(proc)  # the driver, and with it the Ray instance it started
    assert not target.exists()
    done = len(temp_frames(target))
    assert 2 <= done < FRAMES
    result = run_cli_subprocess(
        "render", project, "-o", target, "--resume", "--workers", "2", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "note: running on Ray (local instance): 2 CPU workers" in result.stderr
    assert f"({FRAMES - done} rendered now)" in result.stderr
    assert frame_hashes(target) == reference  # byte-identical to one uninterrupted process
