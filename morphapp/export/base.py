"""The FrameWriter base: frame checks, the open/committed/aborted life cycle, error mapping.

A writer streams frames into a temp file (or temp folder) beside the target and only moves
it into place at ``commit()``. Any failure inside ``write()`` or ``commit()`` aborts the
writer (temp removed, target untouched) before the error propagates, so a caller that just
lets the error escape leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from morphapp.core.atomic import atomic_path
from morphapp.errors import OutputError
from morphapp.export.formats import ExportFormat
from morphapp.export.timing import fps_fraction, valid_fps

_OPEN, _COMMITTED, _ABORTED = "open", "committed", "aborted"


class FrameWriter:
    """Write HxWx3 uint8 RGB frames to ``path``; see the module docstring for the life cycle.

    Use as a context manager: leaving the block normally commits, leaving it with any
    exception (including ``Cancelled`` and ``KeyboardInterrupt``) aborts and re-raises.
    """

    path: Path
    format: ExportFormat
    frames_written: int

    def __init__(
        self,
        path: Path,
        fmt: ExportFormat,
        *,
        fps: float | Fraction,
        loop: int = 0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not valid_fps(fps):
            raise OutputError(f"{path}: frame rate must be a number between 0 and 1000, got {fps!r}")
        if not isinstance(loop, int) or loop < 0:
            raise OutputError(f"{path}: loop count must be 0 (forever) or a positive number, got {loop!r}")
        self.path = Path(path)
        self.format = fmt
        self.fps = fps_fraction(fps)
        self.loop = loop
        self.metadata: dict[str, Any] = dict(metadata or {})
        # Serialised now so unusable metadata fails before the render, not after it.
        # default=str: paths and other simple objects are written as their text.
        self.metadata_json = json.dumps(self.metadata, default=str, ensure_ascii=False)
        self.frames_written = 0
        self.frame_size: tuple[int, int] | None = None  # (height, width) of the first frame
        self._state = _OPEN

    # -- public API ---------------------------------------------------------------------

    def write(self, frame: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        self._require_open("write")
        with self._aborting_on_error():
            frame = self._checked(frame)
            self._write_frame(frame)
            self.frames_written += 1

    def commit(self) -> Path:
        """Finish the output, move it into place atomically and return its final path."""
        self._require_open("commit")
        with self._aborting_on_error():
            if self.frames_written == 0:
                raise OutputError(f"{self.path}: no frames to write; nothing was saved")
            self._finish()
            final = self._publish()
        self._state = _COMMITTED
        return final

    def abort(self) -> None:
        """Discard everything written so far; the target is left untouched. Idempotent."""
        if self._state != _OPEN:
            return
        self._state = _ABORTED
        self._discard()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            if self._state == _OPEN:
                self.commit()
        else:
            self.abort()

    # -- hooks for subclasses -------------------------------------------------------------

    def _write_frame(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Flush encoders and close files; everything is still in the temp location."""
        raise NotImplementedError

    def _publish(self) -> Path:
        """Move the finished temp output to ``self.path``."""
        raise NotImplementedError

    def _discard(self) -> None:
        """Release resources and remove the temp output. Must not raise."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------------

    def _require_open(self, action: str) -> None:
        if self._state != _OPEN:
            raise RuntimeError(f"cannot {action}: the writer for {self.path} is already {self._state}")

    @contextlib.contextmanager
    def _aborting_on_error(self) -> Iterator[None]:
        try:
            yield
        except self._io_errors as exc:
            self.abort()
            raise self._output_error(exc) from exc
        except BaseException:
            self.abort()
            raise

    # Errors that mean "writing failed" (disk full, permissions...) and become OutputError.
    _io_errors: tuple[type[Exception], ...] = (OSError,)

    def _output_error(self, exc: Exception) -> OutputError:
        reason = getattr(exc, "strerror", None) or str(exc)
        return OutputError(
            f"{self.path}: could not write ({reason}); nothing was saved. "
            "Check the free disk space and permissions there, or choose another output location."
        )

    def _checked(self, frame: np.ndarray) -> np.ndarray:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise TypeError(f"frames must be uint8 numpy arrays, got {getattr(frame, 'dtype', type(frame))}")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
            raise ValueError(f"frames must be HxWx3 RGB arrays, got shape {frame.shape}")
        size = (int(frame.shape[0]), int(frame.shape[1]))
        if self.frame_size is None:
            self.frame_size = size
        elif size != self.frame_size:
            h, w = self.frame_size
            raise OutputError(
                f"{self.path}: frame {self.frames_written} is {size[1]}x{size[0]} but the first frame "
                f"was {w}x{h}; all frames of one export must have the same size"
            )
        return np.ascontiguousarray(frame)


class FileFrameWriter(FrameWriter):
    """A writer whose output is one file, built in a temp file via ``atomic_path``."""

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
        # atomic_path checks the target, removes stale temp files of killed runs and makes
        # the temp file; its exit either renames the temp over the target or deletes it.
        self._atomic = atomic_path(self.path)
        self.temp_path = self._atomic.__enter__()
        with self._aborting_on_error():
            self._open()

    def _open(self) -> None:
        """Open the encoder on ``self.temp_path`` (subclasses)."""

    def _publish(self) -> Path:
        # fsync + os.replace; maps OSError to OutputError and removes the temp on failure.
        self._atomic.__exit__(None, None, None)
        return self.path

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._close_quietly()
        # Exiting with an exception makes atomic_path delete the temp file and not rename it.
        with contextlib.suppress(Exception):
            self._atomic.__exit__(_Discarded, _Discarded(), None)

    def _close_quietly(self) -> None:
        """Close any open encoder/file handles (subclasses); errors are ignored."""


class _Discarded(Exception):
    """Thrown into atomic_path to make it delete its temp file."""
