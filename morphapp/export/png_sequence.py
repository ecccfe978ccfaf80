"""PNG-sequence writer: a folder of numbered PNG frames plus a ``morph.json`` sidecar.

The folder is built as a temp sibling ``.<name>.<random>.part`` (the leftover pattern that
``remove_stale_temp_files`` cleans) and renamed into place at commit. A previous export
at the target is replaced only then: it is renamed aside, the new folder renamed in, and
the old one deleted, so a failure at any point leaves the previous export intact.

Only a folder that is empty, or that holds nothing but a previous morphapp export (its
``morph.json`` and the frames it lists), is ever replaced; any other folder is refused,
so a user's own files are never deleted.

Resuming: a long export killed midway (kill -9, power cut) leaves its temp folder behind.
Each frame in it is written as ``<name>.tmp`` and renamed, so a frame under its final name
is complete; and a ``morph.partial.json`` written at the start holds a fingerprint of what
the export makes (frame count, fps, metadata, and the caller's ``resume_key``: model,
precision...). A writer opened with ``resume=True`` adopts the leftover folder whose
fingerprint matches, keeps its frames, and ``pending`` lists the indices still to write;
a leftover made with other settings is refused with an error and left in place. Without
``resume`` leftovers are deleted, as for every other format.
"""

from __future__ import annotations

import contextlib
import hashlib
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

from morphapp.core.atomic import TEMP_SUFFIX, current_umask, remove_stale_temp_files, stale_temp_paths
from morphapp.errors import OutputError
from morphapp.export.base import FrameWriter
from morphapp.export.formats import ExportFormat

SIDECAR_NAME = "morph.json"
SIDECAR_KIND = "morphapp-png-sequence"  # marks a folder as ours, safe to replace
PARTIAL_NAME = "morph.partial.json"  # in the temp folder while an export runs: what it makes
PARTIAL_KIND = "morphapp-png-sequence-partial"
FRAME_TEMP_SUFFIX = ".tmp"
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
        frame_count: int | None = None,
        resume_key: Mapping[str, Any] | None = None,
        resume: bool = False,
    ) -> None:
        """``frame_count``: how many frames the export has (needed to resume); ``resume_key``:
        anything else that decides the frames' pixels (JSON-able), part of the fingerprint."""
        super().__init__(path, fmt, fps=fps, loop=loop, metadata=metadata)
        if resume and frame_count is None:
            raise ValueError("resume=True needs the export's frame_count")
        if frame_count is not None and frame_count < 1:
            raise ValueError(f"frame_count must be at least 1, got {frame_count}")
        check_folder_target(self.path)
        self._pattern = fmt.options.get("pattern", "frame_{index:05d}.png")
        self._compress_level = int(fmt.options.get("compress_level", "3"))
        self.frame_count = frame_count
        self._fingerprint = self._make_fingerprint(resume_key)
        self._names: dict[int, str] = {}  # index -> file name of every frame in the temp folder
        # Frame indices write() fills, in order (None: no frame_count, frames are numbered as written).
        self._todo: list[int] | None = list(range(frame_count)) if frame_count is not None else None
        self._cursor = 0
        self.resumed = 0  # frames kept from an interrupted export
        adopted = self._find_resumable() if resume else None
        remove_stale_temp_files(self.path, keep=adopted)
        try:
            if adopted is not None:
                self.temp_path = adopted
                self._adopt()
            else:
                self.temp_path = Path(
                    tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=_parent(self.path))
                )
                # mkdtemp makes 0700; the published folder should be like any new folder.
                os.chmod(self.temp_path, 0o777 & ~current_umask())
                self._write_partial_state()
        except OSError as exc:
            if adopted is None and hasattr(self, "temp_path"):
                shutil.rmtree(self.temp_path, ignore_errors=True)
            raise self._output_error(exc) from exc

    @property
    def pending(self) -> list[int] | None:
        """Indices of the frames still to write, in the order ``write()`` takes them.

        After a resume these are the missing frames only: render exactly these (for example
        ``render_frames(..., frame_indices=writer.pending)``). None without a ``frame_count``.
        """
        return None if self._todo is None else self._todo[self._cursor :]

    # -- resuming ---------------------------------------------------------------------------

    def _make_fingerprint(self, resume_key: Mapping[str, Any] | None) -> str:
        what = {
            "frame_count": self.frame_count,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "pattern": self._pattern,
            "compress_level": self._compress_level,
            "metadata": self.metadata_json,
            "resume_key": resume_key,
        }
        text = json.dumps(what, sort_keys=True, default=str, ensure_ascii=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _write_partial_state(self) -> None:
        state = {
            "kind": PARTIAL_KIND,
            "version": 1,
            "fingerprint": self._fingerprint,
            "frame_count": self.frame_count,
        }
        _write_durably(self.temp_path / PARTIAL_NAME, json.dumps(state, indent=2).encode("utf-8"))
        _fsync_dir(self.temp_path)

    def _find_resumable(self) -> Path | None:
        """The leftover temp folder of an interrupted export with our fingerprint, if any."""
        found: list[tuple[int, Path]] = []
        mismatched = 0
        for leftover in stale_temp_paths(self.path):
            try:
                state = json.loads((leftover / PARTIAL_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not a folder, or an export that never wrote its state: nothing to keep
            if not isinstance(state, dict) or state.get("kind") != PARTIAL_KIND:
                continue
            if state.get("fingerprint") != self._fingerprint:
                mismatched += 1
                continue
            found.append((sum(1 for _ in leftover.iterdir()), leftover))
        if found:
            return max(found)[1]  # the one with the most frames
        if mismatched:
            raise OutputError(
                f"{self.path}: cannot resume: the unfinished export there was made with other settings, "
                "keyframes or model; give the same ones to resume it, or start over without resuming "
                "(that deletes it)"
            )
        return None

    def _adopt(self) -> None:
        """Keep the complete frames of the adopted folder; remove everything else in it."""
        assert self.frame_count is not None
        wanted = {self._pattern.format(index=i): i for i in range(self.frame_count)}
        for entry in self.temp_path.iterdir():
            index = wanted.get(entry.name)
            size = _png_size(entry) if index is not None else None
            if index is not None and size is not None and self.frame_size in (None, size):
                self._names[index] = entry.name
                self.frame_size = self.frame_size or size
            elif entry.name != PARTIAL_NAME:  # a half-written .tmp, a damaged frame
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        self._todo = [i for i in range(self.frame_count) if i not in self._names]
        self.resumed = len(self._names)
        self.frames_written = self.resumed  # frames in the export so far, kept ones included

    # -- writing --------------------------------------------------------------------------

    def _write_frame(self, frame: np.ndarray) -> None:
        if self._todo is None:
            index = self.frames_written
        elif self._cursor < len(self._todo):
            index = self._todo[self._cursor]
        else:
            raise ValueError(f"{self.path}: more frames than the {self.frame_count} announced")
        name = self._pattern.format(index=index)
        # Written under a temp name and renamed: a kill never leaves half a PNG under a
        # frame's name, which is what lets a resume trust every frame it finds.
        partial = self.temp_path / (name + FRAME_TEMP_SUFFIX)
        with open(partial, "wb") as fh:
            Image.fromarray(frame).save(fh, format="PNG", compress_level=self._compress_level)
            fh.flush()
            os.fsync(fh.fileno())  # durable before the rename, and before the folder's rename
        os.replace(partial, self.temp_path / name)
        self._names[index] = name
        if self._todo is not None:
            self._cursor += 1

    def _finish(self) -> None:
        assert self.frame_size is not None
        if self.frame_count is not None and len(self._names) != self.frame_count:
            made, wanted = len(self._names), self.frame_count
            raise OutputError(f"{self.path}: only {made} of {wanted} frames were made; nothing was saved")
        height, width = self.frame_size
        sidecar = {
            "kind": SIDECAR_KIND,
            "version": 1,
            "fps": float(self.fps),
            "fps_fraction": f"{self.fps.numerator}/{self.fps.denominator}",
            "frame_count": len(self._names),
            "width": width,
            "height": height,
            "frames": [self._names[i] for i in sorted(self._names)],
            "metadata": json.loads(self.metadata_json),
        }
        text = json.dumps(sidecar, indent=2, ensure_ascii=False)
        _write_durably(self.temp_path / SIDECAR_NAME, text.encode("utf-8"))
        (self.temp_path / PARTIAL_NAME).unlink(missing_ok=True)
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


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _png_size(path: Path) -> tuple[int, int] | None:
    """(height, width) of a complete, undamaged PNG file, else None."""
    try:
        with Image.open(path, formats=["PNG"]) as im:
            size = im.size
            im.verify()  # walks every chunk and checks its CRC, without decoding the pixels
    except Exception:  # any damage at all: the frame is made again
        return None
    return size[1], size[0]


def _fsync_dir(folder: Path) -> None:
    # Makes renames/new entries durable on POSIX; Windows cannot open folders, skip there.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
