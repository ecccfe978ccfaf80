"""The diffusion morph as a frame generator, like ``core.render.frames.render_frames`` for autoencoders.

It yields the same ``Frame`` objects in play order (or in ``frame_indices`` order), so the export
pipeline, resume and the quality report work unchanged. With ``pacing="even"`` each segment is
first rendered at its planned positions, measured, and rendered again at re-placed positions;
the frames' ``spec.t`` then carry the t actually used.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe, check_keyframes
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.frames import Frame, NoteFn, Progress, ProgressFn, plan_for
from morphapp.core.timeline.plan import FrameSpec
from morphapp.diffusion.cache import InversionCache
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher, StepFn
from morphapp.diffusion.pacing import even_positions, frame_distance, step_ratio, thumbnail

MAX_REUSE_BYTES = 512 * 1024**2  # frames kept for pingpong's way back (about 680 at 512²)


@dataclasses.dataclass
class PacingReport:
    segment: int
    before: float  # max/mean step at the planned positions
    after: float | None = None  # at the re-placed positions, once the segment was rendered whole

    def line(self) -> str:
        after = "" if self.after is None else f" -> {self.after:.2f}"
        return f"segment {self.segment + 1} pacing: max/mean step {self.before:.2f}{after}"


def render_diffusion_frames(
    keyframes: Sequence[AnyKeyframe],
    model: DiffusionModel,
    settings: MorphSettings,
    *,
    frame_indices: Sequence[int] | None = None,
    cache: InversionCache | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressFn | None = None,
    note: NoteFn | None = None,
    on_step: StepFn | None = None,
    preview: LatentCodec | None = None,
    pacing_reports: list[PacingReport] | None = None,
    morpher: DiffusionMorpher | None = None,
    remaps: Mapping[int, Mapping[float, float]] | None = None,
) -> Iterator[Frame]:
    """Yield the morph's frames; raises ``Cancelled`` between denoising steps when ``cancel`` is set.

    ``morpher``: a ``DiffusionMorpher`` kept from an earlier render, whose keyframe states (recorded
    attention, denoised keyframes) are reused when they still hold, as the GUI's previews do after
    a timing edit; a new one is made otherwise. ``remaps``: even pacing's planned t -> placed t per
    segment, measured elsewhere (a distributed render measures each segment once, for all workers).
    """
    check_keyframes(list(keyframes))
    plan = plan_for(settings, len(keyframes))
    order = [plan[i] for i in frame_indices] if frame_indices is not None else plan
    if morpher is not None and morpher.reusable_for(model, keyframes, settings):
        morpher.attach(settings=settings, cancel=cancel, progress=progress, note=note, on_step=on_step)
    else:
        morpher = DiffusionMorpher(
            model, keyframes, settings, cache=cache, cancel=cancel, progress=progress, note=note,
            on_step=on_step, preview=preview,
        )  # fmt: skip
    if note is not None:
        note(morpher.attn_plan.describe())
    morpher.prepare({k for spec in order for k in (spec.a, spec.b)})
    reports = pacing_reports if pacing_reports is not None else []
    remaps = {segment: dict(remap) for segment, remap in (remaps or {}).items()}
    measured: set[int] = set()  # segments re-placed here (the "after" figure is measured here too)
    rendered: dict[int, dict[float, np.ndarray]] = {}  # thumbnails per segment, for the "after" figure
    # pingpong's way back shows the very same in-betweens: render each once, keep it until its
    # last showing (within MAX_REUSE_BYTES; past that a frame is denoised again, identically).
    visits = Counter((s.a, s.b, s.t) for s in order if s.keyframe is None)
    kept: dict[tuple[int, int, float], np.ndarray] = {}
    kept_bytes = 0
    for done, spec in enumerate(order):
        if spec.keyframe is not None:
            pixels = morpher.keyframe_pixels(spec.keyframe)
        else:
            if settings.diffusion.pacing == "even" and spec.segment not in remaps:
                remaps[spec.segment], report = _even_remap(morpher, plan, spec)
                reports.append(report)
                measured.add(spec.segment)
                if note:
                    note(report.line())
            key = (spec.a, spec.b, spec.t)
            t = remaps[spec.segment][spec.t] if spec.segment in remaps else spec.t
            spec = dataclasses.replace(spec, t=t)
            visits[key] -= 1
            reused = key in kept
            if reused:
                pixels = kept[key]
                if visits[key] == 0:  # its last showing: let it go
                    del kept[key]
                    kept_bytes -= pixels.nbytes
            else:
                pixels = morpher.frame(spec.a, spec.b, t)
                if visits[key] > 0 and kept_bytes + pixels.nbytes <= MAX_REUSE_BYTES:
                    kept[key] = pixels
                    kept_bytes += pixels.nbytes
            if spec.segment in measured and not reused:
                rendered.setdefault(spec.segment, {})[t] = thumbnail(pixels)
                _after_figure(morpher, spec, remaps, rendered, reports, note)
        yield Frame(spec, len(plan), pixels)
        if progress:
            progress(Progress("decode", done + 1, len(order)))


def planned_ts(plan: Sequence[FrameSpec], segment: int) -> list[float]:
    """The in-betweens' t of ``segment`` (all of them, from the whole plan, so a resumed render
    re-places its frames exactly as the first run did)."""
    return sorted({s.t for s in plan if s.segment == segment and s.keyframe is None})


def even_remap(
    segment: int, planned: Sequence[float], frames: Sequence[np.ndarray]
) -> tuple[dict[float, float], PacingReport]:
    """Planned t -> even t, from the first pass's ``frames``: keyframe a, the in-betweens at
    ``planned``, keyframe b."""
    distances = [frame_distance(x, y) for x, y in itertools.pairwise(frames)]
    placed = even_positions([0.0, *planned, 1.0], distances, planned)
    return dict(zip(planned, placed, strict=True)), PacingReport(segment, step_ratio(distances))


def _even_remap(
    morpher: DiffusionMorpher, plan: Sequence[FrameSpec], spec: FrameSpec
) -> tuple[dict[float, float], PacingReport]:
    planned = planned_ts(plan, spec.segment)
    a, b = spec.a, spec.b  # a segment's frames all share its (a, b), the way back of pingpong too
    frames = [
        morpher.keyframe_pixels(a),
        *(morpher.frame(a, b, t) for t in planned),
        morpher.keyframe_pixels(b),
    ]
    return even_remap(spec.segment, planned, frames)


def _after_figure(
    morpher: DiffusionMorpher,
    spec: FrameSpec,
    remaps: Mapping[int, Mapping[float, float]],
    rendered: dict[int, dict[float, np.ndarray]],
    reports: list[PacingReport],
    note: NoteFn | None,
) -> None:
    """Once every re-placed in-between of a segment was rendered, measure its steps again."""
    seen = rendered[spec.segment]
    if len(seen) != len(remaps[spec.segment]):
        return
    ts = sorted(seen)
    ends = thumbnail(morpher.keyframe_pixels(spec.a)), thumbnail(morpher.keyframe_pixels(spec.b))
    thumbs = [ends[0], *(seen[t] for t in ts), ends[1]]
    report = next(r for r in reversed(reports) if r.segment == spec.segment)
    report.after = step_ratio([float(np.abs(x - y).mean()) for x, y in itertools.pairwise(thumbs)])
    del rendered[spec.segment]
    if note:
        note(report.line())
