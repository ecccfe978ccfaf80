"""Even pacing over a cluster: its first pass, made once for all workers.

A diffusion render paced "even" first renders each segment's planned in-betweens linearly, then
re-places them so that they are evenly spaced in how the picture changes. One process does both
passes within itself; over Ray the first pass is rendered over the cluster and re-placed by the
driver, and every worker is then sent the same remap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import Frame, NoteFn

__all__ = ["measure_even_pacing"]

# Renders (settings, plan indices) over the cluster.
RenderFn = Callable[[MorphSettings, list[int]], Iterable[Frame]]


def measure_even_pacing(
    plan: Sequence[Any], order: Sequence[int], settings: MorphSettings, render: RenderFn, note: NoteFn
) -> dict[int, dict[float, float]]:
    """Even pacing's first pass, once for all workers: each segment's planned in-betweens
    rendered over the cluster, then re-placed here (one process does the same within itself)."""
    from morphapp.diffusion.render import even_remap, planned_ts

    segments = sorted({plan[i].segment for i in order if plan[i].keyframe is None})
    wanted: dict[tuple[int, float | None], int] = {}  # (keyframe or segment, t) -> a plan index
    for spec in plan:
        if spec.keyframe is not None:
            wanted.setdefault((spec.keyframe, None), spec.index)
        elif spec.segment in segments:
            wanted.setdefault((spec.segment, spec.t), spec.index)
    linear = dataclasses.replace(settings, diffusion=dataclasses.replace(settings.diffusion, pacing="linear"))
    first = sorted(set(wanted.values()))
    pixels = {f.index: f.pixels for f in render(linear, first)}
    remaps: dict[int, dict[float, float]] = {}
    for segment in segments:
        spec = next(s for s in plan if s.segment == segment)
        planned = planned_ts(plan, segment)
        frames = [pixels[wanted[(spec.a, None)]], *(pixels[wanted[(segment, t)]] for t in planned),
                  pixels[wanted[(spec.b, None)]]]  # fmt: skip
        remaps[segment], report = even_remap(segment, planned, frames)
        note(report.line())
    return remaps
