"""Overlap decoding with export: frames go through a bounded queue to a writer thread.

The calling thread runs the render generator (the model's work: torch and ONNX Runtime release
the GIL while they compute) and hands each frame to a thread that converts colours and encodes
it (PyAV and Pillow do most of that outside the GIL too), so export costs little wall time on top
of decoding. The queue holds at most ``depth`` frames: memory stays flat however long the morph.

Errors go both ways: a writer failure (disk full...) stops the render at its next frame and is
raised in the caller; a render failure or ``Cancelled`` drops the queued frames and waits for
the writer thread to finish its current frame, so the caller's ``with open_writer(...)`` aborts a
writer that no thread is touching any more.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from morphapp.core.render import Frame

_DONE = object()
_POLL_S = 0.05  # how often a blocked put looks whether the writer thread has died


class FrameSink(Protocol):
    """What the pipeline writes into: a ``FrameWriter`` or anything with ``write(pixels)``."""

    def write(self, frame: np.ndarray) -> None: ...


def write_frames(
    frames: Iterable[Frame],
    sink: FrameSink,
    *,
    depth: int = 3,
    on_written: Callable[[Frame], None] | None = None,
) -> int:
    """Write every frame of ``frames`` to ``sink`` in order, encoding in a second thread.

    Returns the number of frames written. ``on_written`` is called in the writer thread.
    """
    pending: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    failure: list[BaseException] = []
    written = 0

    def consume() -> None:
        nonlocal written
        while True:
            item = pending.get()
            if item is _DONE or stop.is_set():
                return
            assert isinstance(item, Frame)
            try:
                sink.write(item.pixels)
            except BaseException as exc:  # handed to the caller's thread, which raises it
                failure.append(exc)
                stop.set()
                return
            written += 1
            if on_written is not None:
                on_written(item)

    worker = threading.Thread(target=consume, name="morphapp-writer", daemon=True)
    worker.start()
    try:
        for frame in frames:
            _put(pending, frame, stop)
            if stop.is_set():
                break
        else:
            _put(pending, _DONE, stop)
    except BaseException:
        stop.set()
        raise
    finally:
        if stop.is_set():
            _drain(pending)
            pending.put(_DONE)  # wakes a writer waiting on an empty queue
        worker.join()
    if failure:
        raise failure[0]
    return written


def _put(pending: queue.Queue[object], item: object, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pending.put(item, timeout=_POLL_S)
            return
        except queue.Full:
            continue


def _drain(pending: queue.Queue[object]) -> None:
    while True:
        try:
            pending.get_nowait()
        except queue.Empty:
            return
