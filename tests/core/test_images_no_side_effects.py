"""Issue 23, item 6: loading an image changes no process-wide state, and hashing is memoised.

Loading must leave ``warnings.filters`` and Pillow's global ``Image.MAX_IMAGE_PIXELS`` as found
(the window loads keyframes on several threads, next to other code that uses both), and
``file_sha256`` must read an unchanged keyframe once per process, not on every preview.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from morphapp.core.imaging import decode, file_hash
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.imaging.load import load_image
from morphapp.errors import InputError

HOUR_NS = 3600 * 10**9


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but has no pixel data: a cheap stand-in for a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def sample_files(tmp_path: Path) -> dict[str, Path]:
    """A normal image, a forged huge header (over our limit), one under ours but over Pillow's
    default, a truncated JPEG: every path through the loader that once touched global state."""
    normal = tmp_path / "normal.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(normal)
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header_only(17000, 16000))
    tall = tmp_path / "tall.png"
    tall.write_bytes(_png_header_only(12000, 10000))
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 90, 200)).save(buf, "JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return {"normal": normal, "huge": huge, "tall": tall, "truncated": truncated}


def _load(path: Path) -> str:
    try:
        load_image(path, (16, 16))
    except InputError as exc:
        return str(exc)
    return "ok"


def _outcomes(files: dict[str, Path]) -> dict[str, str]:
    return {name: _load(path) for name, path in files.items()}


def _check_outcomes(seen: dict[str, str]) -> None:
    assert seen["normal"] == "ok"
    assert "huge.png: 17000x16000 pixels is over the 256-megapixel limit" in seen["huge"]
    assert "tall.png: file is truncated or corrupt" in seen["tall"]  # not refused as a bomb
    assert "truncated.jpg: file is truncated or corrupt" in seen["truncated"]


def test_loading_leaves_warning_filters_and_pillows_limit_as_found(sample_files: dict[str, Path]) -> None:
    filters = list(warnings.filters)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    for name, path in sample_files.items():
        _load(path)
        assert list(warnings.filters) == filters, name
        assert pillow_limit == Image.MAX_IMAGE_PIXELS, name
    _check_outcomes(_outcomes(sample_files))


def test_loads_on_two_threads_never_change_pillows_limit(sample_files: dict[str, Path]) -> None:
    filters = list(warnings.filters)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    seen_limits: set[int | None] = set()
    done = threading.Event()

    def watch() -> None:  # samples the global all the time the loads run
        while not done.is_set():
            seen_limits.add(Image.MAX_IMAGE_PIXELS)

    watcher = threading.Thread(target=watch)
    watcher.start()
    barrier = threading.Barrier(2)

    def work(_: int) -> list[dict[str, str]]:
        barrier.wait(timeout=10)
        return [_outcomes(sample_files) for _ in range(15)]

    try:
        with ThreadPoolExecutor(2) as pool:
            results = [seen for batch in pool.map(work, range(2)) for seen in batch]
    finally:
        done.set()
        watcher.join()
    for seen in results:
        _check_outcomes(seen)
    assert seen_limits == {pillow_limit}
    assert list(warnings.filters) == filters


def test_a_filter_someone_adds_during_a_load_is_kept(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unlike catch_warnings(), which puts back the whole list it found, a load removes only
    what it added: a filter another thread adds meanwhile stays."""
    identify = decode.identify

    def identify_while_someone_adds_a_filter(fp: io.BufferedReader) -> object:
        warnings.filterwarnings("ignore", message="added by another thread")
        return identify(fp)

    with warnings.catch_warnings():
        filters = list(warnings.filters)
        monkeypatch.setattr(decode, "identify", identify_while_someone_adds_a_filter)
        assert _load(sample_files["normal"]) == "ok"
        added = [f for f in warnings.filters if f not in filters]
        assert len(added) == 1 and added[0][1] is not None
        assert added[0][1].pattern == "added by another thread"


def test_pillows_own_guard_in_a_decoder_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow's TIFF decoder still consults its global limit (left as the host set it): an image
    under our limit that it refuses is not said to be over ours."""
    path = tmp_path / "page.tif"
    Image.new("RGB", (64, 64), (9, 9, 9)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    message = _load(path)
    assert "page.tif: 4,096 pixels is over Pillow's decompression-bomb limit" in message
    assert Image.MAX_IMAGE_PIXELS == 1000


# --------------------------------------------------------------------------- file_sha256


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file file_sha256 opens to read."""
    opened: list[Path] = []
    real: Callable[[Path], io.BufferedReader] = file_hash.open_binary

    def counting(path: Path) -> io.BufferedReader:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(file_hash, "open_binary", counting)
    return opened


def _write(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_an_unchanged_file_is_read_once(tmp_path: Path, opens: list[Path]) -> None:
    path = tmp_path / "key.png"
    data = os.urandom(3 << 20)  # several read chunks
    _write(path, data, os.stat(tmp_path).st_mtime_ns - HOUR_NS)
    digests = {file_sha256(path) for _ in range(5)} | {file_sha256(str(path))}
    assert digests == {hashlib.sha256(data).hexdigest()}
    assert opens == [path]


def test_a_rewritten_file_gets_its_new_hash(tmp_path: Path, opens: list[Path]) -> None:
    path = tmp_path / "key.png"
    old = os.stat(tmp_path).st_mtime_ns - 2 * HOUR_NS
    _write(path, b"A" * 1000, old)
    assert file_sha256(path) == hashlib.sha256(b"A" * 1000).hexdigest()
    _write(path, b"B" * 1000, old + HOUR_NS)  # same size, new mtime
    assert file_sha256(path) == hashlib.sha256(b"B" * 1000).hexdigest()
    assert file_sha256(path) == hashlib.sha256(b"B" * 1000).hexdigest()
    assert len(opens) == 2


def test_a_file_replaced_by_one_of_the_same_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    path, other = tmp_path / "key.png", tmp_path / "new.png"
    old = os.stat(tmp_path).st_mtime_ns - HOUR_NS
    _write(path, b"A" * 1000, old)
    assert file_sha256(path) == hashlib.sha256(b"A" * 1000).hexdigest()
    _write(other, b"B" * 1000, old)
    os.replace(other, path)  # as editors save: a new inode under the old name
    assert file_sha256(path) == hashlib.sha256(b"B" * 1000).hexdigest()


def test_a_file_written_twice_in_a_row_is_never_stale(tmp_path: Path) -> None:
    """Two writes within the file system's timestamp granularity can leave size and mtime
    alike; a freshly written file's hash is not kept, so the second content is seen."""
    path = tmp_path / "key.png"
    for i in range(20):
        data = bytes([i]) * 4096
        path.write_bytes(data)
        assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_hashing_from_many_threads(tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.png")
        _write(paths[-1], bytes([i]) * 5000, os.stat(tmp_path).st_mtime_ns - HOUR_NS)
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    with ThreadPoolExecutor(6) as pool:
        for _ in range(3):
            assert list(pool.map(file_sha256, paths * 4)) == expected * 4
