"""Perceptually even pacing: place in-betweens so that neighbouring frames differ by equal steps.

No morph changes evenly along t. A diffusion morph often changes little near the ends and flips in
the middle; an autoencoder's slerp starts slowly and then rushes (Biden -> Trump: steps from 0.46
to 1.34 times their mean). After a first pass at probe t values, the distance between
neighbouring frames gives the morph's "arc length" as a function of t; each frame is then moved
to the t where the arc length reaches its planned share (DiffMorpher's reschedule). With an
easing, the eased positions become shares of the arc length, so easing keeps its meaning.

The distance is the mean absolute difference of 64² thumbnails, not a learned perceptual one:
LPIPS needs ImageNet-trained AlexNet/VGG weights that torchvision downloads on first use (not
possible offline, and not shipped: their licence and 200+ MB), and the networks that are here
(TAEF2, MediaPipe's) were not trained to judge how different two pictures look.

Autoencoder morphs (``probe_times``, ``paced_times``): ``PROBES`` + 1 evenly spaced t per segment
are decoded from latents average-pooled 2x (a quarter of a frame's decode each) and measured; the
step profile of such half-size decodes follows the full frames' within a few per cent (bench:
0.50/1.29/0.73 vs 0.46/1.34/0.70 of the mean step at t = 0, 0.4, 1 on Biden -> Trump), for
about 2.3 frame decodes per segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DISTANCE_SIDE = 64  # frames are compared at 64x64: layout and colour, not noise-level detail


def thumbnail(pixels: np.ndarray) -> np.ndarray:
    """An H x W x 3 uint8 frame as an (at most) DISTANCE_SIDE² float32 image in [0, 1] (area average)."""
    height, width = pixels.shape[:2]
    ys = np.linspace(0, height, min(DISTANCE_SIDE, height) + 1).astype(int)
    xs = np.linspace(0, width, min(DISTANCE_SIDE, width) + 1).astype(int)
    image = pixels.astype(np.float32) / 255.0
    rows = np.add.reduceat(image, ys[:-1], axis=0) / np.diff(ys)[:, None, None]
    return np.add.reduceat(rows, xs[:-1], axis=1) / np.diff(xs)[None, :, None]


def frame_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two H x W x 3 uint8 frames at thumbnail size; 0 = identical."""
    return float(np.abs(thumbnail(a) - thumbnail(b)).mean())


def step_ratio(distances: Sequence[float]) -> float:
    """max / mean of the steps between neighbouring frames: 1.0 is perfectly even."""
    values = np.asarray(distances, dtype=np.float64)
    mean = values.mean() if values.size else 0.0
    return float(values.max() / mean) if mean > 0 else 1.0


def even_positions(ts: Sequence[float], distances: Sequence[float], targets: Sequence[float]) -> list[float]:
    """t values whose arc length is ``targets`` (shares 0-1) of the whole.

    ``ts`` are the measured positions in increasing order, 0 and 1 included; ``distances[k]`` is
    the step from ``ts[k]`` to ``ts[k + 1]``. Arc length is linear between measured positions.
    """
    if len(distances) != len(ts) - 1:
        raise ValueError("one distance per neighbouring pair of positions")
    cumulative = np.concatenate([[0.0], np.cumsum(np.maximum(distances, 0.0))])
    total = cumulative[-1]
    if total <= 0:
        return list(targets)  # nothing changes along t: any placement is even
    # np.interp inverts the piecewise-linear arc length; flat stretches map to their start.
    return [float(np.interp(share * total, cumulative, ts)) for share in targets]


PROBES = 8  # probe intervals per segment (autoencoder pacing)


def probe_times(n: int = PROBES) -> list[float]:
    """The t values a segment is probed at: 0, 1/n, ..., 1."""
    return [k / n for k in range(n + 1)]


def paced_times(
    probes: Sequence[float], distances: Sequence[float], planned: Sequence[float]
) -> dict[float, float]:
    """Planned t -> placed t for one segment: each planned position (an easing's output, a share of
    the way) becomes the t where the measured change reaches that share; 0 and 1 stay."""
    placed = even_positions(probes, distances, planned)
    out = {t: p for t, p in zip(planned, placed, strict=True)}
    out.update({0.0: 0.0, 1.0: 1.0})
    return out
