"""Quality report of a morph segment: figures an artist can read and a test can assert.

- ``crossfade_psnr``: PSNR of an in-between to the best plain blend ``α·first + (1−α)·last`` of
  the segment's two end frames (α by least squares). A pixel cross-fade scores > 40 dB, a decoded
  latent slerp 25–35 dB; a morph whose shapes move scores several dB lower (it is *not* a blend).
- ``sharpness``: the in-between's gradient energy over the ends' energy interpolated at its t
  (1.0: as sharp as the keyframes; a blurry or double-exposed frame scores lower).
- ``step_ratio``: the largest mean-absolute change between neighbouring frames over the mean one
  (1.0: perfectly even motion; a jump shows as a high ratio).
- ``endpoint_psnr``: the decoded keyframes against the input keyframes (the codec's round trip).
- Smoothness as morphing papers score it, with a distance that needs no download (the mean
  absolute change of the pixels between neighbouring frames, in grey levels): ``total_change``
  (the path's length), ``evenness`` (1 - Gini coefficient of the steps, as AID scores smoothness:
  1.0 when every step is the same), ``largest_step``.
- ``border``: ``border_deviation``, a band along the frame edges that the keyframes do not have.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def _gray(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def gradient_energy(pixels: np.ndarray) -> float:
    gray = _gray(pixels)
    return float(np.mean(np.diff(gray, axis=0) ** 2) + np.mean(np.diff(gray, axis=1) ** 2))


def crossfade_psnr(frame: np.ndarray, first: np.ndarray, last: np.ndarray) -> float:
    """PSNR of ``frame`` to the best blend of ``first`` and ``last``."""
    f, a, b = (x.astype(np.float64) for x in (frame, first, last))
    diff = a - b
    denom = float(np.sum(diff * diff))
    alpha = float(np.clip(np.sum((f - b) * diff) / denom, 0.0, 1.0)) if denom > 0 else 0.5
    return psnr(f, alpha * a + (1 - alpha) * b)


BORDER_OUTER = 6  # px: the strip along each frame edge where a decoder rim or a warp's fill shows
BORDER_INNER = 12  # px: the strip inside it that the outer one is compared with


def edge_contrast(pixels: np.ndarray) -> np.ndarray:
    """Per side (top, bottom, left, right): mean grey of the outer ``BORDER_OUTER`` px minus the
    mean of the ``BORDER_INNER`` px inside them. A light or dark band along an edge shows here."""
    gray = _gray(pixels)
    o, i = BORDER_OUTER, BORDER_OUTER + BORDER_INNER
    sides = (gray, gray[::-1], gray.T, gray.T[::-1])  # each with its edge at row 0
    return np.array([side[:o].mean() - side[o:i].mean() for side in sides])


def border_deviation(frames: Sequence[np.ndarray], ts: Sequence[float]) -> float:
    """The border figure (grey levels): the largest difference, over every frame and side, between
    a frame's ``edge_contrast`` and the same figure interpolated linearly between the first and the
    last frame at its t. 0: the edges follow the keyframes; a band that the keyframes do not have
    (a decoder's rim, a warp's fill or stretched edge pixels) makes it large."""
    first, last = edge_contrast(frames[0]), edge_contrast(frames[-1])
    worst = 0.0
    for frame, t in zip(frames, ts, strict=True):
        expected = (1 - t) * first + t * last
        worst = max(worst, float(np.abs(edge_contrast(frame) - expected).max()))
    return worst


@dataclass(frozen=True)
class SegmentReport:
    segment: int
    frames: int
    crossfade_psnr_mid: float  # of the in-between nearest t = 0.5
    crossfade_psnr_mean: float
    sharpness_mid: float
    sharpness_mean: float
    step_ratio: float  # max / mean step between neighbouring frames (ends included)
    endpoint_psnr: tuple[float, float] | None  # decoded vs input keyframes; None if not given
    total_change: float = 0.0  # sum of the steps (grey levels)
    evenness: float = 1.0  # 1 - Gini of the steps
    largest_step: float = 0.0  # grey levels
    border: float = 0.0  # border_deviation (grey levels)

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 3)
        if self.endpoint_psnr is not None:
            out["endpoint_psnr"] = [round(v, 2) for v in self.endpoint_psnr]
        return out

    def line(self) -> str:
        ends = "" if self.endpoint_psnr is None else "  ends {:.1f}/{:.1f} dB".format(*self.endpoint_psnr)
        return (
            f"segment {self.segment + 1}: cross-fade PSNR mid {self.crossfade_psnr_mid:.1f} dB "
            f"(mean {self.crossfade_psnr_mean:.1f})  sharpness mid {self.sharpness_mid:.2f} "
            f"(mean {self.sharpness_mean:.2f})  step max/mean {self.step_ratio:.2f}{ends}  "
            f"smoothness: total change {self.total_change:.1f}, evenness {self.evenness:.2f} (1 - Gini), "
            f"largest step {self.largest_step:.1f}  border {self.border:.1f} levels"
        )


def segment_report(
    frames: Sequence[np.ndarray],
    ts: Sequence[float],
    *,
    segment: int = 0,
    inputs: tuple[np.ndarray, np.ndarray] | None = None,
) -> SegmentReport:
    """Report on one segment's frames in order, from keyframe a (t = 0) to keyframe b (t = 1) included."""
    if len(frames) != len(ts) or len(frames) < 3:
        raise ValueError("a segment report needs the frames from t = 0 to t = 1 with an in-between")
    first, last = frames[0], frames[-1]
    e_first, e_last = gradient_energy(first), gradient_energy(last)
    inner = [(f, t) for f, t in zip(frames, ts, strict=True) if 0.0 < t < 1.0]
    fades = [crossfade_psnr(f, first, last) for f, _ in inner]
    sharp = [gradient_energy(f) / max((1 - t) * e_first + t * e_last, 1e-12) for f, t in inner]
    mid = min(range(len(inner)), key=lambda i: abs(inner[i][1] - 0.5))
    steps = [float(np.mean(np.abs(a.astype(np.float64) - b))) for a, b in itertools.pairwise(frames)]
    mean_step = float(np.mean(steps))
    ends = None if inputs is None else (psnr(first, inputs[0]), psnr(last, inputs[1]))
    return SegmentReport(
        segment=segment,
        frames=len(frames),
        crossfade_psnr_mid=fades[mid],
        crossfade_psnr_mean=float(np.mean(fades)),
        sharpness_mid=sharp[mid],
        sharpness_mean=float(np.mean(sharp)),
        step_ratio=max(steps) / mean_step if mean_step > 0 else 1.0,
        endpoint_psnr=ends,
        total_change=float(np.sum(steps)),
        evenness=1.0 - gini(steps),
        largest_step=max(steps),
        border=border_deviation(frames, ts),
    )


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative ``values``: 0 when all are equal, towards 1 when one holds all."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    ranks = np.arange(1, len(x) + 1)
    return float((2 * ranks - len(x) - 1) @ x / (len(x) * x.sum()))


MAX_REPORT_FRAMES = 1000  # frames held for a report; a longer morph is not reported on


class ReportCollector:
    """Keeps each segment's forward frames as they stream past, for ``segment_report`` at the end.

    ``tap`` wraps the render loop's frame iterator (objects with ``.spec`` and ``.pixels``)
    and yields every frame unchanged.
    """

    def __init__(self) -> None:
        self.frames: dict[int, dict[float, np.ndarray]] = {}
        self.keys: dict[int, np.ndarray] = {}  # keyframe index -> its decoded frame
        self.pairs: dict[int, tuple[int, int]] = {}
        self.overflow = False

    def tap(self, frames: Iterable[Any]) -> Iterator[Any]:
        held = 0
        for frame in frames:
            spec = frame.spec
            self.pairs[spec.segment] = (spec.a, spec.b)
            if spec.keyframe is not None:
                self.keys.setdefault(spec.keyframe, frame.pixels)
            else:
                segment = self.frames.setdefault(spec.segment, {})
                if spec.t not in segment and not self.overflow:
                    held += 1
                    self.overflow = held > MAX_REPORT_FRAMES
                    segment[spec.t] = frame.pixels
            yield frame

    def reports(self, inputs: Mapping[int, np.ndarray] | None = None) -> list[SegmentReport]:
        """One report per segment that has both ends and an in-between (keyframe index -> input pixels)."""
        if self.overflow:
            return []
        out = []
        for segment in sorted(self.frames):
            a, b = self.pairs[segment]
            if a not in self.keys or b not in self.keys:
                continue
            by_t = {0.0: self.keys[a], **self.frames[segment], 1.0: self.keys[b]}
            ts = sorted(by_t)
            ends = (inputs[a], inputs[b]) if inputs and a in inputs and b in inputs else None
            out.append(segment_report([by_t[t] for t in ts], ts, segment=segment, inputs=ends))
        return out
