"""Guarantee 2: kill -9 during an export or a project save leaves the previous output or nothing.

The CLI runs as a real subprocess and is killed with SIGKILL (no handler runs, no cleanup: a
crash or a power cut of the process) once its temp output shows that frames are being
written. The previous output must be byte-identical, no partial file may exist at the target,
and the next run to the same target must clear the leftover temp file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, load_project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.export import open_writer
from tests.export.helpers import synthetic_frames
from tests.reliability.conftest import (
    SIZE,
    cli_env,
    kill_hard,
    run_cli,
    snapshot,
    start_cli,
    temp_entries,
    temp_frames,
    wait_until,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals (SIGKILL)")


def _previous_export(target: Path) -> None:
    """A real earlier export at the target (made by the writers, not by hand)."""
    with open_writer(target, fps=10) as writer:
        for frame in synthetic_frames(3, 64, 64):
            writer.write(frame)


def _started_writing(target: Path, name: str) -> bool:
    if name == "frames":
        return len(temp_frames(target)) >= 2  # two complete PNG frames in the temp folder
    parts = [p for p in temp_entries(target) if p.is_file()]
    # GIF: Python's 8 kB write buffer fills after two or three 64x64 frames, so a non-empty
    # temp file means frames are streaming. MP4: x264 holds ~40 frames of look-ahead before
    # its first packet, so only the temp file's existence is visible; the render is then
    # well under way (the writer opens after the model loaded), and 400 frames leave seconds.
    return bool(parts) and (name.endswith(".mp4") or parts[0].stat().st_size > 0)


@pytest.mark.parametrize("name", ["morph.gif", "morph.mp4", "frames"])
def test_kill_9_during_export_keeps_the_previous_output(
    tmp_path: Path, keys: list[Path], model_path_env: str, name: str
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / name
    _previous_export(target)
    before = snapshot(out_dir)

    # 400 frames: long enough that the render cannot finish (and rename) between the checks and the
    # kill even with bf16 on a quiet machine (60 frames took ~1 s there and raced); killed early anyway.
    proc = start_cli("render", *keys, "-o", target, "--size", SIZE, "--frames", "400", "-q",
                     cwd=tmp_path, env=cli_env(model_path_env))  # fmt: skip
    wait_until(lambda: _started_writing(target, name), proc)
    if name.endswith(".mp4"):
        time.sleep(0.5)  # let a few frames into the encoder; the guarantee holds at any instant
    assert proc.poll() is None, "the render finished before it could be killed; make it longer"
    kill_hard(proc)

    leftovers = temp_entries(target)
    assert leftovers, "a killed export leaves its temp output (until the next run clears it)"
    assert {k: v for k, v in snapshot(out_dir).items() if not k.startswith(".")} == before  # byte-identical

    # The next run to the same target succeeds and clears the leftover.
    code, err = run_cli("render", *keys, "-o", target, "--size", SIZE, "--frames", "3", "-q")
    assert code == 0, err
    assert temp_entries(target) == []
    assert sorted(p.name for p in out_dir.iterdir()) == [name]
    if name == "frames":
        assert len(list(target.glob("frame_*.png"))) == 3
    elif name.endswith(".gif"):
        with Image.open(target) as im:
            assert im.n_frames == 3


_KILL_DURING_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from morphapp.core.domain.project import load_project, save_project

    def half_then_die(self, data):
        # The real save goes through atomic_path -> Path.write_bytes on the temp file: write
        # half of it, make sure it is on disk, then die with SIGKILL in the middle of the save.
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    project = load_project(sys.argv[1])
    Path.write_bytes = half_then_die
    save_project(project, sys.argv[2])
    """
)


def test_kill_9_during_project_save_keeps_the_previous_project(tmp_path: Path, keys: list[Path]) -> None:
    target = tmp_path / "morph.json"
    save_project(Project(tuple(Keyframe(k) for k in keys), MorphSettings(size=(64, 64))), target)
    before = target.read_bytes()
    changed = tmp_path / "changed.json"
    save_project(Project(tuple(Keyframe(k) for k in keys), MorphSettings(size=(128, 64), hold=2)), changed)

    proc = subprocess.run([sys.executable, "-c", _KILL_DURING_SAVE, str(changed), str(target)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    assert target.read_bytes() == before  # the previous project, byte-identical
    (leftover,) = temp_entries(target)
    assert 0 < leftover.stat().st_size < len(changed.read_bytes())  # the half-written temp file

    # The next save (here through the CLI's --save-project) clears it and writes in full.
    code, err = run_cli("render", changed, "--save-project", target, "-q")
    assert code == 0, err
    assert temp_entries(target) == []
    assert load_project(target).settings.hold == 2
    assert json.loads(target.read_text())["settings"]["size"] == [128, 64]


def test_leftovers_are_matched_to_their_own_target(tmp_path: Path) -> None:
    # Cleaning the leftovers of a PNG folder "take [2]" must neither miss its own (the brackets
    # are not a glob pattern) nor delete those of "take [2].gif" beside it.
    from morphapp.core.atomic import remove_stale_temp_files

    folder_target = tmp_path / "take [2]"
    own = [tmp_path / ".take [2].k3j4l5m6.part", tmp_path / ".take [2].0a1b2c3d.old.part"]
    other = [tmp_path / ".take [2].gif.x9y8z7w6.part", tmp_path / ".take 2.abcdefgh.part"]
    for path in own + other:
        path.write_bytes(b"leftover")
    remove_stale_temp_files(folder_target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in other)
