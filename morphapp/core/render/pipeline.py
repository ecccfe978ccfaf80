"""Overlap decoding with export: frames go through a bounded queue to a writer thread.

Only where a core is spare for it (``overlap_by_default``); otherwise the same frames are
written in the calling thread, to identical bytes.

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

import os
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
import torch

from morphapp.core.render.frames import Frame

_DONE = object()
_POLL_S = 0.05  # how often a blocked put looks whether the writer thread has died


class FrameSink(Protocol):
    """What the pipeline writes into: a ``FrameWriter`` or anything with ``write(pixels)``."""

    def write(self, frame: np.ndarray) -> None: ...


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def overlap_by_default() -> bool:
    """Whether ``write_frames`` uses a writer thread when not told.

    Only where a core is left over: with as many compute threads as CPUs (torch's default on a
    2-core machine) the writer thread competes with the decode for the same cores and cost more
    than it saved (bench/bench_export.py; figures in bench/README.md). From 4 CPUs on it is one
    thread among many, and the encode it hides is worth it.
    """
    cpus = usable_cpus()
    return cpus >= 4 or cpus > torch.get_num_threads()


def write_frames(
    frames: Iterable[Frame],
    sink: FrameSink,
    *,
    depth: int = 3,
    on_written: Callable[[Frame], None] | None = None,
    threaded: bool | None = None,
) -> int:
    """Write every frame of ``frames`` to ``sink`` in order, encoding in a second thread.

    Returns the number of frames written. ``on_written`` is called in the writer thread.
    ``threaded=False`` writes in this thread instead (``None``: ``overlap_by_default()``).
    """
    if not (overlap_by_default() if threaded is None else threaded):
        return _write_in_this_thread(frames, sink, on_written)
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


def _write_in_this_thread(
    frames: Iterable[Frame], sink: FrameSink, on_written: Callable[[Frame], None] | None
) -> int:
    written = 0
    for frame in frames:
        sink.write(frame.pixels)
        written += 1
        if on_written is not None:
            on_written(frame)
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
