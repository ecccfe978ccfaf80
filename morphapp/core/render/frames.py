"""The render loop: keyframes -> latents -> path -> frames, one frame at a time.

``render_frames`` is a generator. It never holds more than one decode batch of frames, checks
the cancel token before every decode, and reports progress through a callback, so the CLI can
wrap it in a progress bar and the GUI in a worker thread: one loop, two faces.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from morphapp.core.align.warp import frame_points
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import ExprKeyframe, Keyframe, check_keyframes
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.edges import EdgeProfile, edge_profile, match_edges
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.imaging.load import load_image
from morphapp.core.notes import NoteFn
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.interpolate import interpolate
from morphapp.core.render.latent_cache import LatentCache, LatentKey
from morphapp.core.render.shape_morph import ShapeMorph
from morphapp.core.timeline.pacing import frame_distance, paced_times, probe_times
from morphapp.core.timeline.plan import FrameSpec, plan_frames, segment_pairs
from morphapp.errors import InputError


@dataclass(frozen=True)
class Frame:
    spec: FrameSpec
    total: int
    pixels: np.ndarray  # H x W x 3 uint8

    @property
    def index(self) -> int:
        return self.spec.index


@dataclass(frozen=True)
class Progress:
    stage: str  # "encode" (keyframes), "decode" (frames done) or "denoise" (steps within a frame)
    done: int
    total: int


ProgressFn = Callable[[Progress], None]


def plan_for(settings: MorphSettings, n_keyframes: int) -> list[FrameSpec]:
    settings.validate()
    return plan_frames(
        n_keyframes, settings.segment_specs(n_keyframes), loop=settings.loop, hold=settings.hold
    )


def encode_keyframes(
    keyframes: Sequence[Keyframe | ExprKeyframe],
    codec: LatentCodec,
    settings: MorphSettings,
    *,
    needed: set[int] | None = None,
    cache: LatentCache | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressFn | None = None,
    note: NoteFn | None = None,
) -> dict[int, torch.Tensor]:
    """Latents (1, C, h, w) of the keyframes in ``needed`` (default: all), through the cache.

    An expression keyframe's latent is the weighted sum of its images' latents (latent arithmetic)."""
    indices = sorted(range(len(keyframes)) if needed is None else needed)
    latents: dict[int, torch.Tensor] = {}
    for done, i in enumerate(indices):
        keyframe = keyframes[i]
        if isinstance(keyframe, ExprKeyframe):
            parts = [
                term.weight * _image_latent(image, codec, settings, cache, cancel, note)
                for term, image in zip(keyframe.terms, _term_images(keyframe), strict=True)
            ]
            latents[i] = torch.stack(parts).sum(0)
        else:
            latents[i] = _image_latent(keyframe, codec, settings, cache, cancel, note)
        if progress:
            progress(Progress("encode", done + 1, len(indices)))
    return latents


def _term_images(keyframe: ExprKeyframe) -> list[Keyframe]:
    images = [term.source for term in keyframe.terms if isinstance(term.source, Keyframe)]
    if len(images) != len(keyframe.terms):
        raise InputError(f"expr:{keyframe.text(names=True)}: prompt terms need a Stable Diffusion model")
    return images


def _image_latent(
    keyframe: Keyframe,
    codec: LatentCodec,
    settings: MorphSettings,
    cache: LatentCache | None,
    cancel: CancelToken | None,
    note: NoteFn | None,
) -> torch.Tensor:
    if cancel is not None:
        cancel.raise_if_cancelled()
    digest = file_sha256(keyframe.path)
    if keyframe.sha256 and digest != keyframe.sha256 and note:
        note(f"{keyframe.path}: the image changed since the project was saved")
    key = LatentKey(digest, codec.model_id, settings.size, settings.fit, settings.background)
    latent = cache.get(key) if cache is not None else None
    if latent is None:
        loaded = load_image(keyframe.path, settings.size, settings.fit, settings.background)
        for line in loaded.notes:
            if note:
                note(f"{keyframe.path.name}: {line}")
        latent = codec.encode(to_tensor(loaded.pixels))
        if cache is not None:
            cache.put(key, latent)
    return latent


def render_frames(
    keyframes: Sequence[Keyframe | ExprKeyframe],
    codec: LatentCodec,
    settings: MorphSettings,
    *,
    frame_indices: Sequence[int] | None = None,
    cache: LatentCache | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressFn | None = None,
    note: NoteFn | None = None,
    batch_size: int = 1,
) -> Iterator[Frame]:
    """Yield the morph's frames in play order, or in the order of ``frame_indices``.

    Raises ``Cancelled`` (between frames) when ``cancel`` is set.
    """
    check_keyframes(list(keyframes))
    plan = plan_for(settings, len(keyframes))
    order = [plan[i] for i in frame_indices] if frame_indices is not None else plan
    needed = {k for spec in order for k in (spec.a, spec.b)}
    latents = encode_keyframes(
        keyframes, codec, settings, needed=needed, cache=cache, cancel=cancel, progress=progress, note=note
    )
    shape = shape_morph_for(keyframes, codec, settings, needed) if settings.points else None
    if settings.pacing == "even":
        order = paced_order(order, latents, codec, settings.path, shape, cancel)
    edges = _edge_profiles(keyframes, needed, latents, codec, settings, shape)
    decoded_keyframes: dict[int, np.ndarray] = {}  # holds and loops show keyframes many times
    step = max(1, batch_size)
    for start in range(0, len(order), step):
        if cancel is not None:
            cancel.raise_if_cancelled()
        batch = order[start : start + step]
        todo: list[FrameSpec] = []
        for spec in batch:
            key = spec.keyframe
            if key is None or (key not in decoded_keyframes and all(t.keyframe != key for t in todo)):
                todo.append(spec)
        fresh: dict[int, np.ndarray] = {}
        if todo:
            path_points = [_path_point(settings.path, latents, s, shape) for s in todo]
            points = torch.cat(path_points).to(torch.float32)
            for spec, pixels in zip(todo, to_pixels(codec.decode(points)), strict=True):
                first, last = edges[spec.a], edges[spec.b]
                if shape is not None:
                    pixels = shape.finish(spec, pixels)
                    first, last = shape.edges_for(spec) or (first, last)
                pixels = match_edges(pixels, spec.t, first, last)
                fresh[spec.index] = pixels
                if spec.keyframe is not None:
                    decoded_keyframes[spec.keyframe] = pixels
        for offset, spec in enumerate(batch):
            made = fresh.get(spec.index)
            if made is None:  # a keyframe shown again (a hold, a loop): decoded once
                assert spec.keyframe is not None
                made = decoded_keyframes[spec.keyframe]
            yield Frame(spec, len(plan), made)
            if progress:
                progress(Progress("decode", start + offset + 1, len(order)))


def _edge_profiles(
    keyframes: Sequence[Keyframe | ExprKeyframe],
    needed: set[int],
    latents: dict[int, torch.Tensor],
    codec: LatentCodec,
    settings: MorphSettings,
    shape: ShapeMorph | None,
) -> dict[int, EdgeProfile | None]:
    """What each frame's outer strips should look like (``core/imaging/edges.py``), per keyframe: its fitted
    source picture's edge profile (an expression keyframe has none: its decoded latent's)."""
    profiles: dict[int, EdgeProfile | None] = {}
    for i in sorted(needed):
        keyframe = keyframes[i]
        if isinstance(keyframe, Keyframe):
            known = shape.pixels.get(i) if shape is not None else None
            if known is None:
                known = load_image(keyframe.path, settings.size, settings.fit, settings.background).pixels
            profiles[i] = edge_profile(known)
        else:
            profiles[i] = edge_profile(to_pixels(codec.decode(latents[i].to(torch.float32)))[0])
    return profiles


def paced_order(
    order: Sequence[FrameSpec],
    latents: dict[int, torch.Tensor],
    codec: LatentCodec,
    path: str,
    shape: ShapeMorph | None,
    cancel: CancelToken | None = None,
) -> list[FrameSpec]:
    """``order`` with each in-between moved to the t where its segment's change reaches the share its
    planned t asks for (``core/timeline/pacing.py``). Each segment is probed from its own keyframes alone, so
    a preview, a resumed render and a full one place every frame alike."""
    probes = probe_times()
    segments: dict[int, FrameSpec] = {}
    planned: dict[int, set[float]] = {}
    for spec in order:
        if spec.keyframe is None:
            segments.setdefault(spec.segment, spec)
            planned.setdefault(spec.segment, set()).add(spec.t)
    remaps: dict[int, dict[float, float]] = {}
    for segment, first in segments.items():
        if cancel is not None:
            cancel.raise_if_cancelled()
        specs = [FrameSpec(-1, first.a, first.b, t, segment) for t in probes]
        points = torch.cat([_path_point(path, latents, spec, shape) for spec in specs]).to(torch.float32)
        # Half-size decodes (latents average-pooled 2x) change along t as the full frames do; a
        # latent only a few cells across is decoded as it is.
        pooled = F.avg_pool2d(points, 2) if min(points.shape[-2:]) >= 4 else points
        small = to_pixels(codec.decode(pooled))
        if shape is not None:
            small = [shape.finish(spec, pixels) for spec, pixels in zip(specs, small, strict=True)]
        distances = [frame_distance(x, y) for x, y in itertools.pairwise(small)]
        targets = sorted(planned[segment])
        remaps[segment] = paced_times(probes, distances, targets)
    return [
        spec if spec.keyframe is not None else dataclasses.replace(spec, t=remaps[spec.segment][spec.t])
        for spec in order
    ]


def _path_point(
    path: str, latents: dict[int, torch.Tensor], spec: FrameSpec, shape: ShapeMorph | None
) -> torch.Tensor:
    """The latent (1, C, h, w) to decode for ``spec``: warped when ``shape`` has points for it."""
    if shape is not None:
        warped = shape.latent(path, spec, latents)
        if warped is not None:
            return warped
    return interpolate(path, latents[spec.a][0], latents[spec.b][0], [spec.t])


def shape_morph_for(
    keyframes: Sequence[Keyframe | ExprKeyframe],
    codec: LatentCodec,
    settings: MorphSettings,
    needed: set[int],
) -> ShapeMorph | None:
    """The warp of a morph with correspondences (``settings.points``), or None without any."""
    pairs = segment_pairs(len(keyframes), settings.loop)
    points = list(settings.points or ())
    if not any(points):
        return None
    if len(points) > len(pairs):
        raise InputError(f"points are given for {len(points)} segments but the morph has {len(pairs)}")
    fit, background = settings.fit, settings.background
    for seg, seg_points in enumerate(points):
        for k in pairs[seg] if seg_points else ():
            if isinstance(keyframes[k], ExprKeyframe):  # points are placed on an image's own pixels
                raise InputError(
                    f"segment {seg + 1} has correspondence points, but keyframe {k + 1} is an expression: "
                    "points and alignment need image keyframes"
                )
    images = {i: k for i, k in enumerate(keyframes) if i in needed and isinstance(k, Keyframe)}
    loaded = {i: load_image(k.path, settings.size, fit, background) for i, k in images.items()}
    in_frame: list[SegmentPoints] = []
    for seg, seg_points in enumerate(points):
        a, b = pairs[seg]
        if not seg_points or a not in loaded or b not in loaded:
            in_frame.append(())
            continue
        sizes = loaded[a].source_size, loaded[b].source_size
        in_frame.append(frame_points(seg_points, *sizes, settings.size, settings.fit))

    def encode(pixels: np.ndarray) -> torch.Tensor:  # (B, H, W, 3) uint8 -> (B, C, h, w)
        return codec.encode(torch.cat([to_tensor(image) for image in pixels]))

    return ShapeMorph(
        in_frame, settings.warp, pixels={i: im.pixels for i, im in loaded.items()}, encode=encode
    )


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> (1, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].to(torch.float32) / 255.0


def to_pixels(images: torch.Tensor) -> list[np.ndarray]:
    """(B, 3, H, W) float in [0, 1] -> list of H x W x 3 uint8 arrays."""
    as_bytes = images.clamp(0, 1).mul(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    frames = [frame.numpy() for frame in as_bytes]
    for frame in frames:
        frame.flags.writeable = False  # one array may stand for several frames (holds, loops)
    return frames
