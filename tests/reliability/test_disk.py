"""Guarantee 3: disk problems give one clear line (exit 2), leave nothing, and the app keeps working.

The tests run as root, so chmod cannot make a folder read-only for them: a real read-only
file system (a tmpfs mounted ``ro``) stands in, and a tiny tmpfs is a real full disk
(ENOSPC). Both need ``mount``; where it is not permitted the tests skip and say why. The
per-process file size limit (RLIMIT_FSIZE, EFBIG from the same write calls) runs everywhere.
Every failure is followed by a render to a good path in the same process, which must work.
"""

from __future__ import annotations

import signal
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no per-process file size limit
    resource = None  # type: ignore[assignment]

import pytest
from PIL import Image

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, save_project
from morphapp.core.domain.settings import MorphSettings
from tests.reliability.conftest import (
    SIZE,
    cli_env,
    error_line,
    run_cli,
    start_cli,
    temp_entries,
    tmpfs,
)


def _good_render_still_works(keys: list[Path], folder: Path) -> None:
    target = folder / "after.gif"
    code, err = run_cli("render", *keys, "-o", target, "--size", SIZE, "--frames", "3", "-q")
    assert code == 0, err
    with Image.open(target) as im:
        assert im.n_frames == 3 and im.size == (64, 64)


def test_read_only_folder(tmp_path: Path, keys: list[Path]) -> None:
    with tmpfs(tmp_path / "ro", "size=64k", "ro") as folder:
        for name in ("morph.gif", "morph.webm", "frames"):
            code, err = run_cli("render", *keys, "-o", folder / name, "--size", SIZE, "--frames", "3")
            assert code == 2
            assert f"{folder / name}: folder {folder} is not writable" in error_line(err)
        code, err = run_cli("render", *keys, "--save-project", folder / "p.json", "-q")
        assert code == 2 and "p.json" in error_line(err) and "not writable" in err
        assert list(folder.iterdir()) == []
    _good_render_still_works(keys, tmp_path)


def test_target_is_a_folder_or_a_file(tmp_path: Path, keys: list[Path]) -> None:
    (tmp_path / "taken.gif").mkdir()
    (tmp_path / "taken.gif" / "keep.txt").write_text("mine")
    code, err = run_cli("render", *keys, "-o", tmp_path / "taken.gif", "--size", SIZE, "--frames", "3")
    assert code == 2 and "taken.gif: is a folder; give a file name" in error_line(err)

    (tmp_path / "notes").write_text("mine")  # a PNG sequence needs a folder
    code, err = run_cli("render", *keys, "-o", tmp_path / "notes", "--format", "png", "--frames", "3")
    assert code == 2 and "notes: is a file" in error_line(err)

    (tmp_path / "photos").mkdir()  # someone's folder is never filled or replaced
    (tmp_path / "photos" / "beach.jpg").write_bytes(b"holiday")
    code, err = run_cli("render", *keys, "-o", tmp_path / "photos", "--frames", "3")
    assert code == 2 and "not a previous morphapp export" in error_line(err)

    code, err = run_cli("render", *keys, "--save-project", tmp_path / "taken.gif", "-q")
    assert code == 2 and "is a folder" in error_line(err)

    assert (tmp_path / "taken.gif" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "notes").read_text() == "mine"
    assert [p.name for p in (tmp_path / "photos").iterdir()] == ["beach.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "photos", "taken.gif"]
    _good_render_still_works(keys, tmp_path)


@pytest.mark.parametrize(
    ("name", "disk", "frames"),
    # 64x64 frames are ~5 kB as GIF, ~9 kB as PNG; an MP4 of 8 frames is ~6 kB, written
    # mostly when the encoder is flushed at the end: each disk fills partway.
    [("morph.gif", "24k", 40), ("frames", "24k", 40), ("morph.mp4", "4k", 8)],
)
def test_disk_full_during_export(tmp_path: Path, keys: list[Path], name: str, disk: str, frames: int) -> None:
    with tmpfs(tmp_path / "small", f"size={disk}") as folder:
        code, err = run_cli("render", *keys, "-o", folder / name, "--size", SIZE, "--frames", frames, "-q")
        assert code == 2
        line = error_line(err)
        assert (
            str(folder / name) in line and "No space left on device" in line and "nothing was saved" in line
        )
        assert list(folder.iterdir()) == []  # no partial output, no temp file
    _good_render_still_works(keys, tmp_path)


def test_disk_full_during_project_save(tmp_path: Path, keys: list[Path]) -> None:
    with tmpfs(tmp_path / "small", "size=16k") as folder:
        previous = folder / "p.json"
        save_project(Project(tuple(Keyframe(k) for k in keys), MorphSettings()), previous)
        before = previous.read_bytes()
        filler = folder / "filler"
        with open(filler, "wb", buffering=0) as fh, pytest.raises(OSError):  # fill it to the last byte
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        code, err = run_cli("render", *keys, "--save-project", previous, "--hold", "3", "-q")
        assert code == 2 and "p.json: could not write (No space left on device)" in error_line(err)
        assert previous.read_bytes() == before and temp_entries(previous) == []
        filler.unlink()
    _good_render_still_works(keys, tmp_path)


def _limit_file_size() -> None:
    # In the child before exec: files may not grow beyond 12 kB (writes then fail with EFBIG).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, resource.RLIM_INFINITY))


@pytest.mark.skipif(resource is None or not hasattr(signal, "SIGXFSZ"), reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_in_a_real_process(tmp_path: Path, keys: list[Path], model_path_env: str) -> None:
    # No mount needed: the same write errors, in a real `morphapp render` process.
    target = tmp_path / "morph.gif"
    proc = start_cli("render", *keys, "-o", target, "--size", SIZE, "--frames", "30", "-q",
                     cwd=tmp_path, env=cli_env(model_path_env), preexec_fn=_limit_file_size)  # fmt: skip
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2, stderr
    assert "morph.gif: could not write (File too large); nothing was saved" in error_line(stderr)
    assert list(tmp_path.iterdir()) == []
    _good_render_still_works(keys, tmp_path)  # the same render without the limit works
