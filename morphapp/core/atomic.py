"""Atomic file output: write to a temp file beside the target, then rename over it.

A crash, an error or a cancel leaves either the previous file intact or nothing at the
target path, never a truncated file. Temp files are named ``.<target>.<random>.part`` so a
later run can recognise and remove leftovers of a killed process.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from morphapp.errors import OutputError

TEMP_SUFFIX = ".part"


def check_writable_target(target: Path) -> None:
    """Fail early, before any work, when ``target`` can never be written."""
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name for the output")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{target}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{target}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: folder {parent} is not writable; choose another output location")


def stale_temp_paths(target: Path) -> list[Path]:
    """Temp files/folders of earlier exports to ``target`` (``.<name>.<random>[.old].part``).

    The random part has no dot, so the leftovers of ``out.gif`` are not taken for those of a
    PNG-sequence folder ``out`` beside it.
    """
    parent = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    found = []
    # glob.escape: a target named "take [2].gif" must not be read as a character class.
    for candidate in parent.glob(f"{glob.escape(prefix)}*{TEMP_SUFFIX}"):
        token = candidate.name[len(prefix) : -len(TEMP_SUFFIX)].removesuffix(".old")
        if token and "." not in token:
            found.append(candidate)
    return sorted(found)


def remove_stale_temp_files(target: Path, *, keep: Path | None = None) -> None:
    """Remove temp files that a killed earlier run left beside ``target`` (except ``keep``)."""
    for leftover in stale_temp_paths(target):
        if keep is not None and leftover == keep:
            continue
        with contextlib.suppress(OSError):
            if leftover.is_dir():
                for child in leftover.iterdir():
                    child.unlink()
                leftover.rmdir()
            else:
                leftover.unlink()


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success rename it over ``target``.

    On any exception (including ``Cancelled`` and ``KeyboardInterrupt``) the temp file is
    removed and the target is left untouched.
    """
    target = Path(target)
    check_writable_target(target)
    remove_stale_temp_files(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; outputs should be like any new file
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{target}: could not write ({exc.strerror or exc})") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: Path | str, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    # Flush file contents before the rename so a power cut cannot leave an empty target.
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
