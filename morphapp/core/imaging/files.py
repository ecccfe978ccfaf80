"""Opening a keyframe file for reading, with one clear error for every way a path can fail.

A missing file, a folder, a FIFO or device, an empty file, a permission problem or a name no OS
accepts each becomes an :class:`~morphapp.errors.InputError` that names the path and the problem,
instead of an ``OSError`` traceback.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from morphapp.errors import InputError


def check_file(path: Path, *, allow_empty: bool = False) -> os.stat_result:
    """Fail with a clear message when ``path`` is not a readable, non-empty regular file."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: file not found") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied); check its permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # a NUL character (from a project file): no OS accepts such a name
        raise InputError(f"{path!r}: not a valid file name") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; only plain files are images.
        raise InputError(f"{path}: is not a regular file")
    if info.st_size == 0 and not allow_empty:
        raise InputError(f"{path}: file is empty (0 bytes)")
    return info


def open_binary(path: Path) -> io.BufferedReader:
    """``path`` opened for binary reading; what the OS refuses becomes an ``InputError``."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied); check its permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
