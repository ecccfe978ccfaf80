"""Camera moves: one scene framed twice (zoomed, shifted, turned) morphs as a camera that moves.

A point-pair warp pins the frame border (``core/align/warp.py``), so it cannot zoom: a reframed scene
then shows two mountains in every in-between. When a segment's points all follow one similarity
(rotation, uniform scale, shift; what ``--align auto`` finds for a reframed scene), the segment is
rendered as a camera move instead: the frame at ``t`` sees the scene through the similarity raised
to the power ``t`` (zoom and turn at an even rate, ``a**t`` in complex form). Both keyframes are
resampled into the middle view (t = 0.5) and encoded once per segment; each frame slerps those
latents, is decoded and resampled from the middle view into its own (``camera_frame``), the part
the middle view does not reach taken from the keyframes' own views (the ``pixel`` warp mode
encodes both keyframes' views for every frame instead, at about twice the cost). What one keyframe
does not show (the ring around a close-up, in the wide view) is taken from the other one, resampled
alike and feathered in, so no edge is stretched and no fill colour shows.

The rule is read from the points, so a project needs no new field and re-renders as it always did:
auto-align stores a camera move as a grid of at least ``MIN_POINTS`` pairs that agree with one
similarity within ``TOLERANCE`` of the frame; two or three hand-placed pairs (always a similarity)
never count, and hand edits that break the agreement make it a point warp again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from morphapp.core.align.warp import warp_pixels
from morphapp.core.domain.points import SegmentPoints

MIN_POINTS = 6  # a camera move is a grid of points, never a hand-placed handful
TOLERANCE = 0.002  # of the frame's longer side: how closely every pair must follow the similarity
FEATHER = 0.04  # of the frame's longer side: how softly the other keyframe's fill blends in
# Below these the move is too small to need a camera: the point warp does it without a seam.
MIN_ZOOM = 1.08
MIN_SHIFT = 0.04  # of the frame's longer side
MIN_TURN_DEG = 3.0


@dataclass(frozen=True)
class Similarity:
    """``z -> a z + c`` on pixel coordinates written as complex numbers (x + i y, pixel centres at
    i + 0.5): a's coordinates to b's."""

    a: complex
    c: complex

    def power(self, t: float) -> Similarity:
        """The move ``t`` of the way: ``a**t`` (scale and angle at an even rate) with the same fixed
        point; a pure shift moves linearly."""
        scale, angle = abs(self.a), np.angle(self.a)
        a_t = complex(scale**t * np.exp(1j * angle * t))
        if abs(self.a - 1) < 1e-9:
            return Similarity(a_t, self.c * t)
        return Similarity(a_t, self.c * (a_t - 1) / (self.a - 1))

    def inverse(self) -> Similarity:
        return Similarity(1 / self.a, -self.c / self.a)

    def then(self, other: Similarity) -> Similarity:
        """This move followed by ``other``."""
        return Similarity(other.a * self.a, other.a * self.c + other.c)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.a * z + self.c

    def scaled(self, factor: float) -> Similarity:
        """The same move on pictures ``factor`` times the size (pixel centres scale with them)."""
        return Similarity(self.a, self.c * factor)

    def is_large(self, height: int, width: int) -> bool:
        """A zoom, shift or turn big enough that a border-pinned warp would ghost at the edges."""
        side = max(height, width)
        centre = complex(width / 2, height / 2)
        shift = abs(self(np.array([centre]))[0] - centre) / side
        zoom = max(abs(self.a), 1 / abs(self.a))
        turn = abs(np.degrees(np.angle(self.a)))
        return bool(zoom >= MIN_ZOOM or shift >= MIN_SHIFT or turn >= MIN_TURN_DEG)


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> Similarity:
    """Least-squares similarity taking complex points ``src`` to ``dst``."""
    mean_s, mean_d = src.mean(), dst.mean()
    ds, dd = src - mean_s, dst - mean_d
    a = complex(np.vdot(ds, dd) / max(np.vdot(ds, ds).real, 1e-12))
    return Similarity(a, complex(mean_d - a * mean_s))


def camera_move(points: SegmentPoints, height: int, width: int) -> Similarity | None:
    """The similarity that ``points`` (frame coordinates) all follow, when they are a camera move."""
    if len(points) < MIN_POINTS:
        return None
    pts = np.asarray(points, dtype=np.float64)
    src = pts[:, 0] * width + 1j * pts[:, 1] * height
    dst = pts[:, 2] * width + 1j * pts[:, 3] * height
    move = fit_similarity(src, dst)
    if np.abs(move(src) - dst).max() > TOLERANCE * max(height, width):
        return None
    return move if move.is_large(height, width) else None


def _grid(height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return (xs + 0.5) + 1j * (ys + 0.5)


def _inside(z: np.ndarray, height: int, width: int) -> np.ndarray:
    """How far inside the picture (in pixels) each position is; negative outside."""
    return np.minimum.reduce([z.real, width - z.real, z.imag, height - z.imag])


def _coverage(z: np.ndarray, height: int, width: int, feather: float) -> np.ndarray:
    """(H, W, 1) weight of a keyframe in the view: 0 where the view sees past its edge, rising to 1
    over ``feather`` view pixels from there; 1 everywhere when it fills the view (its own frame edge
    is no seam, so a keyframe's own frame stays exactly itself)."""
    import cv2

    covered = (_inside(z, height, width) > 0).astype(np.uint8)
    if covered.all():
        return np.ones((*covered.shape, 1))
    distance = cv2.distanceTransform(covered, cv2.DIST_L2, 5)  # view pixels to the nearest uncovered one
    return np.clip(distance / feather, 0.0, 1.0)[..., None]


def _sample(pixels: np.ndarray, z: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    positions = torch.from_numpy(np.stack([z.real / width, z.imag / height], axis=-1))
    return warp_pixels(pixels, positions)


def camera_images(
    pixels_a: np.ndarray, pixels_b: np.ndarray, move: Similarity, t: float
) -> tuple[np.ndarray, np.ndarray]:
    """Keyframes a and b seen through the camera at ``t`` (H x W x 3 uint8 each): each where it shows
    the scene, the other one (feathered) where it does not."""
    height, width = pixels_a.shape[:2]
    view = _grid(height, width)
    to_a = move.power(t).inverse()  # view -> a
    to_b = to_a.then(move)  # view -> b
    za, zb = to_a(view), to_b(view)
    image_a, image_b = _sample(pixels_a, za), _sample(pixels_b, zb)
    feather = max(1.0, FEATHER * max(height, width))
    weight_a, weight_b = _coverage(za, height, width, feather), _coverage(zb, height, width, feather)
    # Where neither shows the scene (a turn's corners), each keeps its own stretched edge.
    out_a = _blend(weight_a, image_a, lambda: np.where(weight_b > 0, image_b, image_a))
    out_b = _blend(weight_b, image_b, lambda: np.where(weight_a > 0, image_a, image_b))
    return out_a, out_b


def _blend(weight: np.ndarray, image: np.ndarray, fill: Callable[[], np.ndarray]) -> np.ndarray:
    """``image`` where ``weight`` is 1, ``fill()`` where it is 0, mixed between (uint8); the fill is
    made only where some of it shows (a wide view needs none)."""
    if weight.min() >= 1.0:
        return image
    w = weight.astype(np.float32)
    out = w * image.astype(np.float32) + (1.0 - w) * fill().astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def camera_frame(
    middle: np.ndarray, pixels_a: np.ndarray, pixels_b: np.ndarray, move: Similarity, t: float,
    views: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:  # fmt: skip
    """A frame decoded in the segment's middle view (the camera at t = 0.5) as the camera at ``t``
    sees it: the middle frame resampled into the view, and where the middle view does not reach
    (the wider views' ring) the two keyframes' views at ``t``, blended by ``t`` and feathered in.
    Encoding the middle views once per segment, not two views per frame, is what keeps a camera
    move's cost near a plain morph's. ``middle`` may be smaller than the keyframes (even pacing
    probes at half size). ``views``: ``camera_images(pixels_a, pixels_b, move, t)`` when already made."""
    import cv2

    height, width = middle.shape[:2]
    if pixels_a.shape[:2] != (height, width):
        views = None  # made at the keyframes' size
        move = move.scaled(width / pixels_a.shape[1])
        pixels_a = cv2.resize(pixels_a, (width, height), interpolation=cv2.INTER_AREA)
        pixels_b = cv2.resize(pixels_b, (width, height), interpolation=cv2.INTER_AREA)
    to_middle = move.power(t).inverse().then(move.power(0.5))  # view t -> keyframe a -> middle view
    zm = to_middle(_grid(height, width))
    moved = _sample(middle, zm)
    weight = _coverage(zm, height, width, max(1.0, FEATHER * max(height, width)))
    if weight.min() >= 1.0:  # a view inside the middle one: all of it decoded
        return moved
    image_a, image_b = views if views is not None else camera_images(pixels_a, pixels_b, move, t)
    return _blend(weight, moved, lambda: cv2.addWeighted(image_a, 1.0 - t, image_b, t, 0.0))


def camera_points(move: Similarity, height: int, width: int, grid: int = 9) -> SegmentPoints:
    """A camera move as point pairs (frame coordinates): a ``grid`` x ``grid`` lattice over a, kept
    where it lands inside b, so the move is stored as every other alignment is."""
    ticks = (np.arange(grid) + 0.5) / grid
    src = np.array([x * width + 1j * y * height for y in ticks for x in ticks])
    dst = move(src)
    out = []
    for s, d in zip(src, dst, strict=True):
        if 0 < d.real < width and 0 < d.imag < height:
            out.append((s.real / width, s.imag / height, d.real / width, d.imag / height))
    return tuple((float(a), float(b), float(c), float(e)) for a, b, c, e in out)
