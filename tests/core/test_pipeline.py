"""The overlapped writer gives the plain loop's output, stops on errors and cancel, holds few frames."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render import pipeline
from morphapp.core.render.frames import Frame, render_frames
from morphapp.core.render.pipeline import write_frames
from morphapp.core.timeline.plan import FrameSpec
from morphapp.errors import Cancelled
from morphapp.export import open_writer
from morphapp.models.tae_codec import TaeCodec
from tests.export.helpers import read_video


class ListSink:
    def __init__(self, fail_at: int | None = None) -> None:
        self.frames: list[np.ndarray] = []
        self.fail_at = fail_at

    def write(self, frame: np.ndarray) -> None:
        if self.fail_at is not None and len(self.frames) == self.fail_at:
            raise OSError(28, "No space left on device")
        self.frames.append(frame.copy())


def _synthetic(count: int, side: int = 16, produced: list[int] | None = None) -> Iterator[Frame]:
    for i in range(count):
        if produced is not None:
            produced.append(i)
        spec = FrameSpec(index=i, a=0, b=1, t=i / max(1, count - 1), segment=0)
        yield Frame(spec, count, np.full((side, side, 3), i % 256, np.uint8))


def _no_writer_thread() -> bool:
    return not any(t.name == "morphapp-writer" for t in threading.enumerate())


BOTH = pytest.mark.parametrize("threaded", [True, False], ids=["writer-thread", "in-thread"])


@BOTH
def test_pipeline_frames_equal_the_plain_loop(taef2: TaeCodec, pairs_dir: Path, threaded: bool) -> None:
    keys = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    settings = MorphSettings(size=(64, 48), segment_frames=(5,), hold=1)
    plain = [f.pixels for f in render_frames(keys, taef2, settings)]
    sink = ListSink()
    assert write_frames(render_frames(keys, taef2, settings), sink, threaded=threaded) == len(plain)
    assert len(sink.frames) == len(plain) == 8
    assert all(np.array_equal(a, b) for a, b in zip(plain, sink.frames, strict=True))


def _spread(count: int) -> Iterator[Frame]:
    """Flat frames 25 levels apart: a lost, doubled or swapped frame shows in any codec."""
    for frame in _synthetic(count):
        yield Frame(frame.spec, frame.total, frame.pixels * 25)


def _frame_levels(path: Path) -> np.ndarray:
    return np.array([frame.astype(float).mean() for frame in read_video(path)["frames"]])


def test_pipeline_gif_is_the_plain_loops_file_byte_for_byte(tmp_path: Path) -> None:
    with open_writer(tmp_path / "plain.gif", fps=12) as writer:
        for frame in _spread(10):
            writer.write(frame.pixels)
    expected = (tmp_path / "plain.gif").read_bytes()
    for threaded in (True, False, None):
        with open_writer(tmp_path / "piped.gif", fps=12) as writer:
            assert write_frames(_spread(10), writer, threaded=threaded) == 10
        assert (tmp_path / "piped.gif").read_bytes() == expected, threaded


def test_pipeline_mp4_holds_the_plain_loops_frames_in_order(tmp_path: Path) -> None:
    # Not byte for byte: x264's rate control works in floating point, so its bytes follow the
    # encoding thread's rounding mode (fesetround changes them); the frames must not change.
    with open_writer(tmp_path / "plain.mp4", fps=12) as writer:
        for frame in _spread(10):
            writer.write(frame.pixels)
    expected = _frame_levels(tmp_path / "plain.mp4")
    assert np.abs(expected - np.arange(10) * 25).max() < 3
    for threaded in (True, False, None):
        with open_writer(tmp_path / "piped.mp4", fps=12) as writer:
            assert write_frames(_spread(10), writer, threaded=threaded) == 10
        piped = _frame_levels(tmp_path / "piped.mp4")
        assert piped.shape == expected.shape, threaded
        assert np.abs(piped - expected).max() < 1.5, (threaded, piped, expected)


@pytest.mark.parametrize(
    "cpus, torch_threads, expected",
    [(2, 2, False), (1, 1, False), (2, 1, True), (4, 4, True), (8, 4, True), (16, 16, True)],
)
def test_writer_thread_only_where_a_core_is_spare(
    monkeypatch: pytest.MonkeyPatch, cpus: int, torch_threads: int, expected: bool
) -> None:
    monkeypatch.setattr(pipeline, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(pipeline.torch, "get_num_threads", lambda: torch_threads)
    assert pipeline.overlap_by_default() is expected
    threads_seen: set[str] = set()
    sink = ListSink()
    written = write_frames(
        _synthetic(4), sink, on_written=lambda _f: threads_seen.add(threading.current_thread().name)
    )
    assert written == 4 and len(sink.frames) == 4
    assert threads_seen == {"morphapp-writer" if expected else threading.current_thread().name}


@BOTH
def test_writer_error_stops_the_render_and_is_raised(threaded: bool) -> None:
    produced: list[int] = []
    sink = ListSink(fail_at=2)
    with pytest.raises(OSError, match="No space"):
        write_frames(_synthetic(50, produced=produced), sink, depth=2, threaded=threaded)
    assert len(sink.frames) == 2
    assert len(produced) <= 2 + 1 + 2 + 1  # written, failed, queued, the one being put
    assert len(produced) == 3 or threaded  # in this thread: not one frame more than failed
    assert _no_writer_thread()


@BOTH
def test_cancel_propagates_drops_queued_frames_and_leaves_no_file(tmp_path: Path, threaded: bool) -> None:
    cancel = CancelToken()

    def frames() -> Iterator[Frame]:
        for frame in _synthetic(30):
            cancel.raise_if_cancelled()
            yield frame
            if frame.index == 3:
                cancel.cancel()

    target = tmp_path / "m.mp4"
    with pytest.raises(Cancelled), open_writer(target, fps=12) as writer:
        write_frames(frames(), writer, threaded=threaded)
    assert writer.frames_written <= 4
    assert list(tmp_path.iterdir()) == []
    assert _no_writer_thread()


@BOTH
def test_peak_memory_does_not_grow_with_frame_count(threaded: bool) -> None:
    class SlowSink:
        def write(self, frame: np.ndarray) -> None:
            threading.Event().wait(0.001)  # slower than the producer: the queue stays full

    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            write_frames(_synthetic(count, side=256), SlowSink(), depth=3, threaded=threaded)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    frame_bytes = 256 * 256 * 3
    short, long = peak(10), peak(80)
    assert long < short + 2 * frame_bytes  # flat: not 70 more frames
    assert long < 8 * frame_bytes  # queue depth + one being made + one being written, plus change
