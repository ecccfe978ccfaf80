"""Quality report of a morph segment: figures an artist can read and a test can assert.

- ``crossfade_psnr``: PSNR of an in-between to the best plain blend ``α·first + (1−α)·last`` of
  the segment's two end frames (α by least squares). A pixel cross-fade scores > 40 dB, a decoded
  latent slerp 25–35 dB; a morph whose shapes move scores several dB lower (it is *not* a blend).
- ``sharpness``: the in-between's gradient energy over the ends' energy interpolated at its t
  (1.0: as sharp as the keyframes; a blurry or double-exposed frame scores lower).
- ``step_ratio``: the largest mean-absolute change between neighbouring frames over the mean one
  (1.0: perfectly even motion; a jump shows as a high ratio).
- ``endpoint_psnr``: the decoded keyframes against the input keyframes (the codec's round trip).
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
            f"(mean {self.sharpness_mean:.2f})  step max/mean {self.step_ratio:.2f}{ends}"
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
    )


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
