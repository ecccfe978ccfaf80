"""Atomicity and error handling, the same for every format."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from morphapp.core.atomic import remove_stale_temp_files
from morphapp.errors import Cancelled, OutputError
from morphapp.export import open_writer
from tests.export.helpers import synthetic_frame, synthetic_frames
from tests.reliability.conftest import tmpfs

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

TARGETS = ["out.gif", "out.mp4", "out.webm", "out"]  # the last is a PNG-sequence folder


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _snapshot(target: Path) -> dict[str, bytes]:
    if target.is_dir():
        return {p.name: p.read_bytes() for p in target.iterdir()}
    return {target.name: target.read_bytes()}


def _good_export(target: Path, count: int = 3) -> None:
    with open_writer(target, fps=10) as writer:
        for frame in synthetic_frames(count):
            writer.write(frame)


@pytest.mark.parametrize("name", TARGETS)
def test_nothing_at_target_until_commit(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    writer = open_writer(target, fps=10)
    for frame in synthetic_frames(3):
        writer.write(frame)
    assert not target.exists()
    assert writer.commit() == target
    assert target.exists()
    assert _entries(tmp_path) == [name]


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize(
    "error", [RuntimeError("render failed"), Cancelled("cancelled"), KeyboardInterrupt()]
)
def test_exception_inside_leaves_nothing(tmp_path: Path, name: str, error: BaseException) -> None:
    target = tmp_path / name
    with pytest.raises(type(error)), open_writer(target, fps=10) as writer:
        writer.write(synthetic_frame(0))
        writer.write(synthetic_frame(1))
        raise error
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_failed_export_keeps_previous_file_byte_identical(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    _good_export(target)
    before = _snapshot(target)
    with pytest.raises(Cancelled), open_writer(target, fps=10) as writer:
        writer.write(synthetic_frame(7))
        raise Cancelled("user pressed cancel")
    assert _snapshot(target) == before
    assert _entries(tmp_path) == [name]


@pytest.mark.parametrize("name", TARGETS)
def test_zero_frames_writes_nothing(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    with pytest.raises(OutputError, match="no frames to write"), open_writer(target, fps=10):
        pass
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_frame_size_change_is_refused_and_cleaned_up(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    with pytest.raises(OutputError, match="same size"), open_writer(target, fps=10) as writer:
        writer.write(synthetic_frame(0, 64, 48))
        writer.write(synthetic_frame(1, 48, 64))
    assert _entries(tmp_path) == []


@pytest.mark.skipif(resource is None or not hasattr(signal, "SIGXFSZ"), reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("name", TARGETS)
def test_disk_full_during_write(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    _good_export(target, count=2)
    before = _snapshot(target)
    noise = np.random.default_rng(0)
    # A per-file size limit makes writes fail with EFBIG, like ENOSPC on a full disk; both
    # are OSErrors raised from the same writes. 100x100 noise frames exceed it in any format.
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))
    try:
        with pytest.raises(OutputError) as info, open_writer(target, fps=10) as writer:
            for _ in range(20):
                writer.write(noise.integers(0, 256, (100, 100, 3), dtype=np.uint8))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert str(target) in str(info.value) and "could not write" in str(info.value)
    assert _snapshot(target) == before
    assert _entries(tmp_path) == [name]


@pytest.mark.parametrize("name", ["out.gif", "out.mp4", "out.webm"])
def test_target_is_a_directory(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        open_writer(target, fps=10, format=name.rsplit(".", 1)[1])
    assert _entries(tmp_path) == [name] and _entries(target) == []


@pytest.mark.parametrize("name", TARGETS)
def test_parent_is_a_file(tmp_path: Path, name: str) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    with pytest.raises(OutputError, match="not-a-folder"):
        open_writer(blocker / name, fps=10)
    assert _entries(tmp_path) == ["not-a-folder"]


@pytest.mark.parametrize("name", TARGETS)
def test_parent_is_missing(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        open_writer(tmp_path / "missing" / name, fps=10)


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only: its permission bits, or for root (whom they do not stop, as in
    CI's container) a read-only mount, like a read-only disk."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
    else:
        with tmpfs(folder, "ro", "size=64k"):
            yield


@pytest.mark.skipif(sys.platform == "win32", reason="read-only folders by permission bits are POSIX")
@pytest.mark.parametrize("name", TARGETS)
def test_read_only_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with _read_only(folder), pytest.raises(OutputError, match="not writable"):
        open_writer(folder / name, fps=10)


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf")])
def test_bad_fps_fails_before_anything_is_created(tmp_path: Path, fps: float) -> None:
    with pytest.raises(OutputError, match="frame rate"):
        open_writer(tmp_path / "out.mp4", fps=fps)
    assert _entries(tmp_path) == []


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    leftover = tmp_path / ".out.gif.XYZ.part"
    leftover.write_bytes(b"half a gif from a killed run")
    remove_stale_temp_files(tmp_path / "out.gif")
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_opening_a_writer_cleans_leftovers_of_killed_runs(tmp_path: Path, name: str) -> None:
    leftover_file = tmp_path / f".{name}.abc123.part"
    leftover_file.write_bytes(b"junk")
    leftover_folder = tmp_path / f".{name}.def456.part"
    leftover_folder.mkdir()
    (leftover_folder / "frame_00000.png").write_bytes(b"junk")
    _good_export(tmp_path / name)
    assert _entries(tmp_path) == [name]


def test_abort_is_idempotent_and_final(tmp_path: Path) -> None:
    target = tmp_path / "out.gif"
    writer = open_writer(target, fps=10)
    writer.write(synthetic_frame(0))
    writer.abort()
    writer.abort()
    assert _entries(tmp_path) == []
    with pytest.raises(RuntimeError):
        writer.write(synthetic_frame(1))
    with pytest.raises(RuntimeError):
        writer.commit()


def test_bad_frames_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(TypeError), open_writer(tmp_path / "out.gif", fps=10) as writer:
        writer.write(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError), open_writer(tmp_path / "out.gif", fps=10) as writer:
        writer.write(np.zeros((8, 8, 4), dtype=np.uint8))
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_frames_are_streamed_not_kept(tmp_path: Path, name: str) -> None:
    # 40 frames of 128x128 RGB are 1.9 MiB; a writer that kept them would show it here.
    # (tracemalloc sees numpy buffers, which is how a writer would keep frames.)
    frame_bytes = 128 * 128 * 3
    base = synthetic_frame(0, 128, 128)
    with open_writer(tmp_path / name, fps=24) as writer:
        writer.write(base)  # first frame outside the trace: it triggers lazy imports
        tracemalloc.start()
        try:
            for i in range(1, 41):
                writer.write(np.roll(base, i, axis=1))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert writer.frames_written == 41
    assert peak < 8 * frame_bytes, peak
