from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from morphapp.core.easing import parse_ease
from morphapp.errors import InputError

NAMES = ["linear", "ease-in", "ease-out", "ease-in-out", "cubic-bezier(0.1, 0.7, 1.0, 0.1)"]


@pytest.mark.parametrize("name", NAMES)
def test_every_curve_pins_the_ends(name: str) -> None:
    ease = parse_ease(name)
    assert ease(0.0) == 0.0
    assert ease(1.0) == 1.0


@given(st.floats(0, 1), st.floats(0, 1))
def test_named_curves_are_monotone(u: float, v: float) -> None:
    lo, hi = sorted((u, v))
    for name in NAMES[:4]:
        ease = parse_ease(name)
        assert ease(lo) <= ease(hi) + 1e-12


def test_shapes_of_named_curves() -> None:
    assert parse_ease("ease-in")(0.25) < 0.25 < parse_ease("ease-out")(0.25)
    assert parse_ease("ease-in-out")(0.5) == pytest.approx(0.5, abs=1e-9)
    # CSS 'ease-in' at x=0.5 is about 0.3153 (solved bezier), a known reference value.
    assert parse_ease("ease-in")(0.5) == pytest.approx(0.3153, abs=1e-3)


def test_cubic_bezier_accepts_colon_form_and_rejects_bad_input() -> None:
    assert parse_ease("cubic-bezier:0,0,1,1")(0.3) == pytest.approx(0.3, abs=1e-6)
    with pytest.raises(InputError, match="four numbers"):
        parse_ease("cubic-bezier(1,2)")
    with pytest.raises(InputError, match="x1 and x2"):
        parse_ease("cubic-bezier(1.5,0,0.5,1)")
    with pytest.raises(InputError, match="unknown easing"):
        parse_ease("bounce")
