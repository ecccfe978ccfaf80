"""The SHA-256 of a keyframe file, memoised per process while the file is unchanged.

Projects and resumable renders identify keyframes by content; a preview must not re-read every
(possibly huge) keyframe each time, so a hash is kept until the file's stat stamp changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from morphapp.core.imaging.files import check_file, open_binary
from morphapp.errors import InputError

__all__ = ["file_sha256"]

_HASH_CHUNK = 1 << 20

# Hashes already computed, so that a preview does not re-read every keyframe: path -> (the file's
# device, inode, size, mtime and ctime when hashed; its hash). Any write changes size, mtime or
# ctime, and a replaced file has a new inode. A file changed less than _RACY_NS before it was
# hashed is not kept: a second write within the file system's timestamp granularity (2 s on FAT,
# a few ms on ext4) could leave every field as it was (git's "racy" entries).
_FileStamp = tuple[int, int, int, int, int]
_hashes: OrderedDict[str, tuple[_FileStamp, str]] = OrderedDict()
_hashes_lock = threading.Lock()
_HASHES_KEPT = 4096
_RACY_NS = 3_000_000_000


def _stamp(info: os.stat_result) -> _FileStamp:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (keyframes can be huge).

    Memoised per process while the file is unchanged (see ``_hashes``); thread-safe.
    """
    path = Path(path)
    started_ns = time.time_ns()
    stamp = _stamp(check_file(path, allow_empty=True))
    key = os.path.abspath(path)
    with _hashes_lock:
        kept = _hashes.get(key)
        if kept is not None and kept[0] == stamp:
            _hashes.move_to_end(key)
            return kept[1]
    digest, read_stamp = _read_sha256(path)
    # Kept only if what was read is the file stat()ed, unchanged, and not freshly written.
    if read_stamp == stamp and stamp[3] < started_ns - _RACY_NS:
        with _hashes_lock:
            _hashes[key] = (stamp, digest)
            _hashes.move_to_end(key)
            while len(_hashes) > _HASHES_KEPT:
                _hashes.popitem(last=False)
    return digest


def _read_sha256(path: Path) -> tuple[str, _FileStamp]:
    """The hash, and the stamp of the open file after reading it."""
    digest = hashlib.sha256()
    with open_binary(path) as fp:
        try:
            while chunk := fp.read(_HASH_CHUNK):
                digest.update(chunk)
            return digest.hexdigest(), _stamp(os.fstat(fp.fileno()))
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
