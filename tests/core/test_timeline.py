from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from morphapp.core.timeline.plan import SegmentSpec, distribute_frames, plan_frames, segment_pairs
from morphapp.errors import InputError


def _plan(n: int, steps: int, loop: str, hold: int = 0):
    return plan_frames(n, [SegmentSpec(steps)] * len(segment_pairs(n, loop)), loop=loop, hold=hold)


def test_none_starts_and_ends_on_keyframes() -> None:
    plan = _plan(3, 4, "none")
    assert len(plan) == 2 * 4 + 1
    assert plan[0].keyframe == 0 and plan[4].keyframe == 1 and plan[-1].keyframe == 2
    assert [f.index for f in plan] == list(range(len(plan)))


def test_loop_closes_without_repeating_the_first_frame() -> None:
    plan = _plan(2, 3, "loop")
    assert [(f.a, f.b, round(f.t, 3)) for f in plan] == [
        (0, 1, 0.0), (0, 1, 0.333), (0, 1, 0.667), (1, 0, 0.0), (1, 0, 0.333), (1, 0, 0.667)
    ]  # fmt: skip


def test_pingpong_turns_without_duplicates() -> None:
    plan = _plan(2, 4, "pingpong")
    ts = [round(f.t, 2) for f in plan]
    assert ts == [0.0, 0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25]
    # Played in a loop, no two neighbouring frames (including the wrap) are the same point.
    pts = [(f.a, f.b, f.t) for f in plan]
    assert all(pts[i] != pts[(i + 1) % len(pts)] for i in range(len(pts)))


def test_hold_repeats_each_keyframe() -> None:
    plan = _plan(3, 2, "none", hold=2)
    shown = [f.keyframe for f in plan]
    assert shown.count(0) == 3 and shown.count(1) == 3 and shown.count(2) == 3
    assert len(plan) == 2 * 2 + 1 + 2 * 3


@given(
    st.integers(2, 6),
    st.sampled_from(["none", "loop", "pingpong"]),
    st.integers(0, 3),
    st.integers(0, 200),
)
def test_distribute_frames_hits_the_total(n: int, loop: str, hold: int, extra: int) -> None:
    minimum = len(_plan(n, 1, loop, hold))
    total = minimum + extra
    steps = distribute_frames(total, n, loop, hold)
    plan = plan_frames(n, [SegmentSpec(s) for s in steps], loop=loop, hold=hold)
    # pingpong plays segments twice, so an odd remainder is one frame short.
    assert total - len(plan) in ((0, 1) if loop == "pingpong" else (0,))
    assert max(steps) - min(steps) <= 1


def test_too_few_frames_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="too few"):
        distribute_frames(2, 3, "none", 0)


def test_eased_segment_positions() -> None:
    plan = plan_frames(2, [SegmentSpec(4, "ease-in")], loop="none")
    assert plan[1].t < 0.25 and plan[-1].t == 1.0
