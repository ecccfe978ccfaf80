"""PNG-sequence writer: a folder of numbered PNG frames plus a ``morph.json`` sidecar.

The folder is built as a temp sibling ``.<name>.<random>.part`` (the leftover pattern that
``remove_stale_temp_files`` cleans) and renamed into place at commit. A previous export
at the target is replaced only then: it is renamed aside, the new folder renamed in, and
the old one deleted, so a failure at any point leaves the previous export intact.

Only a folder that is empty, or that holds nothing but a previous morphapp export (its
``morph.json`` and the frames it lists), is ever replaced; any other folder is refused,
so a user's own files are never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from morphapp.core.atomic import TEMP_SUFFIX, remove_stale_temp_files
from morphapp.errors import OutputError
from morphapp.export.base import FrameWriter
from morphapp.export.formats import ExportFormat

SIDECAR_NAME = "morph.json"
SIDECAR_KIND = "morphapp-png-sequence"  # marks a folder as ours, safe to replace
# Files that file managers drop into folders; they do not make a folder "the user's".
_SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class PngSequenceWriter(FrameWriter):
    def __init__(
        self,
        path: Path,
        fmt: ExportFormat,
        *,
        fps: float | Fraction,
        loop: int = 0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(path, fmt, fps=fps, loop=loop, metadata=metadata)
        check_folder_target(self.path)
        remove_stale_temp_files(self.path)
        self._pattern = fmt.options.get("pattern", "frame_{index:05d}.png")
        self._compress_level = int(fmt.options.get("compress_level", "3"))
        self._names: list[str] = []
        try:
            self.temp_path = Path(
                tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=_parent(self.path))
            )
        except OSError as exc:
            raise self._output_error(exc) from exc

    def _write_frame(self, frame: np.ndarray) -> None:
        name = self._pattern.format(index=self.frames_written)
        with open(self.temp_path / name, "wb") as fh:
            Image.fromarray(frame).save(fh, format="PNG", compress_level=self._compress_level)
            fh.flush()
            os.fsync(fh.fileno())  # durable before the folder rename publishes it
        self._names.append(name)

    def _finish(self) -> None:
        assert self.frame_size is not None
        height, width = self.frame_size
        sidecar = {
            "kind": SIDECAR_KIND,
            "version": 1,
            "fps": float(self.fps),
            "fps_fraction": f"{self.fps.numerator}/{self.fps.denominator}",
            "frame_count": self.frames_written,
            "width": width,
            "height": height,
            "frames": self._names,
            "metadata": json.loads(self.metadata_json),
        }
        with open(self.temp_path / SIDECAR_NAME, "w", encoding="utf-8") as fh:
            json.dump(sidecar, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(self.temp_path)

    def _publish(self) -> Path:
        target = self.path
        check_folder_target(target)  # the folder may have changed during the render
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        if not target.exists():
            os.rename(self.temp_path, target)
        else:
            # Previous export: move it aside under a leftover-pattern name (cleaned by
            # remove_stale_temp_files if we die here), move the new one in, then delete the old.
            old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old{TEMP_SUFFIX}")
            os.rename(target, old)
            try:
                os.rename(self.temp_path, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(_parent(target))
        return target

    def _discard(self) -> None:
        shutil.rmtree(self.temp_path, ignore_errors=True)


def check_folder_target(target: Path) -> None:
    """Fail early when ``target`` cannot become (or be replaced by) a PNG-sequence folder."""
    parent = _parent(target)
    if target.exists() and not target.is_dir():
        raise OutputError(
            f"{target}: is a file; a PNG sequence is written into a folder, so give a folder "
            "name without suffix (or a .gif/.mp4/.webm file name)"
        )
    if not parent.is_dir():
        raise OutputError(f"{target}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: folder {parent} is not writable; choose another output location")
    if target.is_dir():
        unexpected = _foreign_entries(target)
        if unexpected:
            raise OutputError(
                f"{target}: folder already exists and holds files that are not a previous morphapp "
                f"export (e.g. {unexpected[0]!r}); choose an empty or new folder"
            )


def _foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` that are not part of a previous morphapp export (sorted)."""
    names = {entry.name for entry in folder.iterdir()} - _SYSTEM_FILES
    if not names:
        return []
    ours: set[str] = set()
    try:
        sidecar = json.loads((folder / SIDECAR_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        sidecar = None
    if isinstance(sidecar, dict) and sidecar.get("kind") == SIDECAR_KIND:
        frames = sidecar.get("frames")
        ours = {SIDECAR_NAME, *(str(name) for name in frames)} if isinstance(frames, list) else set()
    # A listed name that is a folder is still the user's: rmtree would delete its contents.
    return sorted(name for name in names if name not in ours or not (folder / name).is_file())


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _fsync_dir(folder: Path) -> None:
    # Makes renames/new entries durable on POSIX; Windows cannot open folders, skip there.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
