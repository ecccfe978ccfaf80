"""Frames that move shape, not only colour: the render loop's warped in-betweens.

A segment's points give a warp field (``core/align/warp.py``); for a frame at ``t`` both keyframes are
pulled to the in-between geometry, then slerped. A segment whose points are one camera move
(``core/align/camera.py``) is rendered as views of one scene instead: in ``frame`` mode its
middle views are encoded once and each decoded frame is moved to its own view; in the others
both keyframes' views are encoded for every frame.

Three modes:

- ``frame`` (default): each keyframe's pixels are warped once per segment to the segment's middle
  shape (t = 0.5) and encoded there; every in-between is the slerp of those two latents, decoded,
  and its *decoded pixels* warped from the middle shape to its own (the TPS through
  ``p_t -> p_0.5 - p_t``). Two encodes per segment: an aligned render costs little more than a
  plain one, and frames stay sharp (Lanczos, on pixels);
- ``pixel``: warp the keyframe *pixels* to each frame's shape and encode each warped image: two
  encodes per frame (an aligned render took about 3x a plain one), sharp; what projects made
  before ``frame`` existed use;
- ``latent``: warp the latent grid (H/8 x W/8, bicubic): no extra encodes, but softer frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from morphapp.core.align.camera import Similarity, camera_frame, camera_images, camera_move
from morphapp.core.align.warp import sample_positions, segment_field, warp_pixels, warp_tensor
from morphapp.core.domain.choices import DEFAULT_WARP_MODE, WARP_MODES
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.imaging.edges import EdgeProfile, edge_profile
from morphapp.core.render.interpolate import interpolate
from morphapp.core.timeline.plan import FrameSpec
from morphapp.errors import InputError


class ShapeMorph:
    """Latents of warped in-betweens: the render loop's optional extension point.

    ``segment_points[s]`` are segment ``s``'s points in *frame* coordinates (see ``frame_points``).
    ``pixels`` (keyframe index -> H x W x 3 uint8) and ``encode`` are needed in pixel mode only.
    """

    def __init__(
        self,
        segment_points: Sequence[SegmentPoints],
        mode: str = DEFAULT_WARP_MODE,
        *,
        pixels: dict[int, np.ndarray] | None = None,
        encode: object = None,
    ) -> None:
        if mode not in WARP_MODES:
            raise InputError(f"--warp {mode}: choose one of {', '.join(WARP_MODES)}")
        self.segment_points = list(segment_points)
        self.mode = mode
        self.pixels = pixels or {}
        self.encode = encode  # Callable[[np.ndarray], torch.Tensor]: (B, H, W, 3) uint8 -> (B, C, h, w)
        self._middle: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # frame mode: per segment
        self._cameras: dict[int, Similarity | None] = {}  # per segment: a camera move, or a point warp
        self._view_edges: dict[tuple[int, float], tuple[EdgeProfile | None, EdgeProfile | None]] = {}
        # A camera frame's two views at its t, made for its latent and used again by ``finish``.
        self._views: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}

    def _points(self, spec: FrameSpec) -> SegmentPoints:
        """The points that warp ``spec``: none for keyframes and segments without points."""
        if spec.keyframe is not None or spec.segment >= len(self.segment_points):
            return ()
        return self.segment_points[spec.segment]

    def latent(self, path: str, spec: FrameSpec, latents: dict[int, torch.Tensor]) -> torch.Tensor | None:
        """(1, C, h, w) float64 latent of ``spec``, or None: plain interpolation (keyframes, no points)."""
        points = self._points(spec)
        if not points:
            return None
        # Segments run a -> b; in pingpong's way back the spec still names the forward pair.
        t = spec.t
        move = self._camera(spec, points)
        if move is not None:  # one scene reframed: every frame a view of it, in any warp mode
            image_a, image_b = camera_images(self.pixels[spec.a], self.pixels[spec.b], move, t)
            # The frame's edges show the views, not the keyframes: their strips are what to match.
            self._view_edges[(spec.segment, t)] = (edge_profile(image_a), edge_profile(image_b))
            if self.mode == "frame":  # the middle views, encoded once; ``finish`` moves the camera
                self._views[(spec.segment, t)] = (image_a, image_b)
                middle_a, middle_b = self._camera_middle(spec, move)
                return interpolate(path, middle_a, middle_b, [t])
            view_a, view_b = self.encode(np.stack([image_a, image_b])).split(1)  # type: ignore[operator]
            return interpolate(path, view_a[0].to(torch.float64), view_b[0].to(torch.float64), [t])
        if self.mode == "frame":
            middle_a, middle_b = self._middle_latents(spec, points)
            return interpolate(path, middle_a, middle_b, [t])
        if self.mode == "latent":
            lat_a, lat_b = latents[spec.a], latents[spec.b]
            field = segment_field(points, t, lat_a.shape[-2], lat_a.shape[-1])
            warped_a = warp_tensor(lat_a.to(torch.float64), sample_positions(field, -t))
            warped_b = warp_tensor(lat_b.to(torch.float64), sample_positions(field, 1.0 - t))
        else:
            if self.encode is None or spec.a not in self.pixels or spec.b not in self.pixels:
                raise RuntimeError("pixel warp needs the keyframe pixels and an encoder")
            height, width = self.pixels[spec.a].shape[:2]
            field = segment_field(points, t, height, width)
            image_a = warp_pixels(self.pixels[spec.a], sample_positions(field, -t))
            image_b = warp_pixels(self.pixels[spec.b], sample_positions(field, 1.0 - t))
            warped_a, warped_b = self.encode(np.stack([image_a, image_b])).split(1)  # type: ignore[operator]
        return interpolate(path, warped_a[0], warped_b[0], [t])

    def edges_for(self, spec: FrameSpec) -> tuple[EdgeProfile | None, EdgeProfile | None] | None:
        """The edge profiles a camera frame's strips should follow (its two views at its t), once
        ``latent`` has made it; None for every other frame (the keyframes' profiles apply)."""
        return self._view_edges.pop((spec.segment, spec.t), None) if spec.keyframe is None else None

    def _camera(self, spec: FrameSpec, points: SegmentPoints) -> Similarity | None:
        """The segment's camera move (``core/align/camera.py``), when its points are one; needs the pixels."""
        if spec.segment not in self._cameras:
            known = self.pixels.get(spec.a)
            self._cameras[spec.segment] = (
                None if known is None else camera_move(points, known.shape[0], known.shape[1])
            )
        return self._cameras[spec.segment]

    def _camera_middle(self, spec: FrameSpec, move: Similarity) -> tuple[torch.Tensor, torch.Tensor]:
        """Keyframes a and b seen by the camera half way (t = 0.5) and encoded, once per segment."""
        if spec.segment not in self._middle:
            if self.encode is None:
                raise RuntimeError("a camera move needs an encoder")
            image_a, image_b = camera_images(self.pixels[spec.a], self.pixels[spec.b], move, 0.5)
            view_a, view_b = self.encode(np.stack([image_a, image_b])).split(1)  # type: ignore[operator]
            self._middle[spec.segment] = (view_a[0].to(torch.float64), view_b[0].to(torch.float64))
        return self._middle[spec.segment]

    def _middle_latents(self, spec: FrameSpec, points: SegmentPoints) -> tuple[torch.Tensor, torch.Tensor]:
        """Keyframes a and b warped to the segment's middle shape and encoded, once per segment."""
        if spec.segment not in self._middle:
            if self.encode is None or spec.a not in self.pixels or spec.b not in self.pixels:
                raise RuntimeError("frame warp needs the keyframe pixels and an encoder")
            height, width = self.pixels[spec.a].shape[:2]
            field = segment_field(points, 0.5, height, width)
            image_a = warp_pixels(self.pixels[spec.a], sample_positions(field, -0.5), mirror=True)
            image_b = warp_pixels(self.pixels[spec.b], sample_positions(field, 0.5), mirror=True)
            warped_a, warped_b = self.encode(np.stack([image_a, image_b])).split(1)  # type: ignore[operator]
            self._middle[spec.segment] = (warped_a[0].to(torch.float64), warped_b[0].to(torch.float64))
        return self._middle[spec.segment]

    def finish(self, spec: FrameSpec, pixels: np.ndarray) -> np.ndarray:
        """A decoded frame in its own shape: frame mode warps it from the segment's middle shape
        (a point at ``p_t`` shows what the middle shape has at ``p_0.5``); other modes, as it is."""
        points = self._points(spec) if self.mode == "frame" else ()
        if not points:
            return pixels
        move = self._camera(spec, points)
        if move is not None:  # decoded in the middle view: seen from the camera at t
            views = self._views.pop((spec.segment, spec.t), None)
            out = camera_frame(pixels, self.pixels[spec.a], self.pixels[spec.b], move, spec.t, views)
            out.flags.writeable = False
            return out
        height, width = pixels.shape[:2]
        field = segment_field(points, spec.t, height, width)
        out = warp_pixels(pixels, sample_positions(field, 0.5 - spec.t), mirror=True)
        out.flags.writeable = False
        return out
