"""Issue 23, item 2: one rounding rule and one set of limits in the engine, which the command line
and the window both read (tests/gui/test_limits_match_engine.py checks the window's side)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from morphapp.core.domain.settings import MAX_HOLD, MIN_FRAMES, MIN_SEGMENT_FRAMES, MorphSettings
from morphapp.core.imaging.sizes import MAX_SIDE, MIN_SIDE, SIZE_STEP, parse_size, round_side, round_size
from morphapp.core.timeline.plan import MAX_FRAMES
from morphapp.errors import InputError


@pytest.mark.parametrize("side", [MIN_SIDE, 33, 36, 299, 300, 500, 503, 4096, 8188, 8190, MAX_SIDE])
def test_the_window_s_rounding_is_the_command_line_s(side: int) -> None:
    size, note = parse_size(f"{side}x{side}")
    assert round_size(side, side) == (size, note)
    assert size == (round_side(side), round_side(side))
    assert size[0] % SIZE_STEP == 0 and (size[0] - side) in range(-SIZE_STEP // 2 + 1, SIZE_STEP // 2 + 1)


def test_halves_round_up_for_whole_and_scaled_sides() -> None:
    # 299.9 is nearer 296 than 304: rounded in one step, not via the nearest pixel (300 -> 304).
    assert [round_side(v) for v in (500, 300, 36, 299.9, 300.0, 289.5, 15.0, 9000.0)] == [
        504, 304, 40, 296, 304, 288, MIN_SIDE, MAX_SIDE,
    ]  # fmt: skip
    assert round_size(504, 304) == ((504, 304), None)
    assert round_size(500, 300)[1] == "size 500x300 rounded to 504x304 (the model works in 8-pixel blocks)"


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("hold", MAX_HOLD, MAX_HOLD + 1),
        ("hold", 0, -1),
        ("frames", MIN_FRAMES, MIN_FRAMES - 1),
        ("frames", MAX_FRAMES, MAX_FRAMES + 1),
        ("segment_frames", (MIN_SEGMENT_FRAMES,), (MIN_SEGMENT_FRAMES - 1,)),
    ],
)
def test_the_settings_check_the_named_limits(field: str, good: object, bad: object) -> None:
    replace(MorphSettings(), **{field: good}).validate()
    with pytest.raises(InputError, match=f"--{field.replace('_', '-')}"):
        replace(MorphSettings(), **{field: bad}).validate()
