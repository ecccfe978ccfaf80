"""The frame plan: which two keyframes and which path position each output frame shows.

A *segment* runs from keyframe ``a`` to keyframe ``b``; it contributes ``steps`` frames at
u = 0, 1/steps, ..., (steps-1)/steps (u = 0 is keyframe ``a`` itself), eased into t. Keyframes
are held for ``hold`` extra frames. Loop modes never repeat a frame at a join:

- none:     K0 .. K1 .. K2            (ends on the last keyframe)
- loop:     K0 .. K1 .. K2 .. (K0)    (the closing segment stops before K0; playback wraps)
- pingpong: K0 .. K1 .. K2 .. K1 ..   (the way back stops before K0; playback wraps)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from morphapp.core.timeline.easing import EaseFn, parse_ease
from morphapp.errors import InputError

LOOP_CHOICES: tuple[str, ...] = ("none", "loop", "pingpong")
# 100,000 frames is over an hour at 24 fps. The plan is a list in memory, so a project asking
# for billions of frames must be refused before it is built, not run out of memory.
MAX_FRAMES = 100_000


@dataclass(frozen=True)
class SegmentSpec:
    """Settings of the stretch between two neighbouring keyframes."""

    steps: int  # frames from keyframe a (included) up to keyframe b (excluded)
    ease: str = "linear"


@dataclass(frozen=True)
class FrameSpec:
    """One output frame: position t on the segment from keyframe ``a`` to keyframe ``b``."""

    index: int
    a: int
    b: int
    t: float
    segment: int  # index of the (forward) segment; pingpong's way back reuses the forward ones

    @property
    def keyframe(self) -> int | None:
        """The keyframe this frame shows exactly, or None for an in-between."""
        if self.t == 0.0:
            return self.a
        if self.t == 1.0:
            return self.b
        return None


def segment_pairs(n_keyframes: int, loop: str) -> list[tuple[int, int]]:
    """The (a, b) keyframe pairs of each segment, in play order of the forward pass."""
    pairs = [(i, i + 1) for i in range(n_keyframes - 1)]
    if loop == "loop":
        pairs.append((n_keyframes - 1, 0))
    return pairs


def distribute_frames(total: int, n_keyframes: int, loop: str, hold: int) -> list[int]:
    """Split a total frame count into per-segment step counts, as evenly as possible."""
    n_segments = len(segment_pairs(n_keyframes, loop))
    fixed = _fixed_frames(n_keyframes, loop, hold)
    passes = 2 if loop == "pingpong" else 1
    # With pingpong each forward segment plays twice: once there and once back.
    free = total - fixed
    minimum = n_segments * passes
    if free < minimum:
        raise InputError(
            f"--frames {total}: too few for {n_keyframes} keyframes with --loop {loop} and --hold {hold}; "
            f"use at least {fixed + minimum}"
        )
    # pingpong plays each segment twice, so an odd budget leaves one frame over (callers
    # compare len(plan_frames(...)) with what was asked and say so).
    base, extra = divmod(free // passes, n_segments)
    return [base + (1 if i < extra else 0) for i in range(n_segments)]


def _fixed_frames(n_keyframes: int, loop: str, hold: int) -> int:
    """Frames outside the segments' step budget: the final keyframe and the holds."""
    if loop == "none":
        return 1 + hold * n_keyframes
    if loop == "loop":
        return hold * n_keyframes
    # pingpong: every keyframe is visited once per direction except the two ends.
    visits = 2 * n_keyframes - 2
    return hold * visits


def count_frames(steps: Sequence[int], *, loop: str, hold: int) -> int:
    """len(plan_frames(...)) without building the plan (same rules, as arithmetic)."""
    total = sum(hold + n for n in steps)  # the forward pass: holds, then the segment's frames
    if loop == "none":
        total += hold + 1  # the final keyframe and its holds
    elif loop == "pingpong":
        total += hold + 1  # the far end
        total += sum(n - 1 for n in steps)  # the way back, each segment without its far end
        total += (hold + 1) * (len(steps) - 1)  # inner keyframes again, with their holds
    return total


def plan_frames(
    n_keyframes: int,
    segments: Sequence[SegmentSpec],
    *,
    loop: str = "none",
    hold: int = 0,
) -> list[FrameSpec]:
    """Every output frame in play order."""
    if n_keyframes < 2:
        raise InputError("a morph needs at least two keyframes")
    if loop not in LOOP_CHOICES:
        raise InputError(f"--loop {loop}: unknown loop mode; choose one of {', '.join(LOOP_CHOICES)}")
    if hold < 0:
        raise InputError(f"--hold {hold}: must be 0 or more")
    pairs = segment_pairs(n_keyframes, loop)
    if len(segments) != len(pairs):
        raise InputError(f"{len(segments)} segment settings given for {len(pairs)} segments")
    eases: list[EaseFn] = [parse_ease(s.ease) for s in segments]
    for i, spec in enumerate(segments):
        if spec.steps < 1:
            raise InputError(f"segment {i + 1}: needs at least 1 frame, got {spec.steps}")
    total = count_frames([s.steps for s in segments], loop=loop, hold=hold)
    if total > MAX_FRAMES:
        raise InputError(
            f"the morph would have {total:,} frames, more than the {MAX_FRAMES:,} allowed; "
            "use fewer frames or a shorter --hold"
        )

    frames: list[tuple[int, int, float, int]] = []

    def add_segment(seg: int, backwards: bool) -> None:
        a, b = pairs[seg]
        steps, ease = segments[seg].steps, eases[seg]
        ts = [ease(k / steps) for k in range(steps)]
        if not backwards:
            frames.extend((a, b, 0.0, seg) for _ in range(hold))
            frames.extend((a, b, t, seg) for t in ts)
        else:
            # Walk b -> a: the forward positions in reverse, excluding b itself (already shown).
            frames.extend((a, b, t, seg) for t in reversed(ts[1:]))
            frames.extend((a, b, 0.0, seg) for _ in range(hold + 1) if seg > 0)

    for seg in range(len(pairs)):
        add_segment(seg, backwards=False)
    last = n_keyframes - 1
    if loop == "none":
        frames.extend((last - 1, last, 1.0, len(pairs) - 1) for _ in range(hold + 1))
    elif loop == "pingpong":
        frames.extend((last - 1, last, 1.0, len(pairs) - 1) for _ in range(hold + 1))
        for seg in reversed(range(len(pairs))):
            add_segment(seg, backwards=True)
    return [FrameSpec(i, a, b, t, seg) for i, (a, b, t, seg) in enumerate(frames)]
