from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from morphapp.core.timeline.easing import parse_ease
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


def test_beta_quantile_ease_is_aids_coefficient_prior() -> None:
    from scipy import stats as scipy_stats  # librosa (the [test] extra) requires scipy

    for a, b in ((2.0, 2.0), (3.0, 1.5), (0.7, 0.7)):
        ease = parse_ease(f"beta({a:g},{b:g})")
        for u in (0.01, 0.1, 0.3, 0.5, 0.77, 0.99):
            assert ease(u) == pytest.approx(scipy_stats.beta.ppf(u, a, b), abs=1e-3)  # << a frame step
        values = [ease(k / 64) for k in range(65)]
        assert values[0] == 0.0 and values[-1] == 1.0 and values == sorted(values)
    linear = parse_ease("beta(1)")
    assert all(linear(k / 10) == pytest.approx(k / 10, abs=1e-9) for k in range(11))
    middle = parse_ease("beta(2)")  # a = b > 1: in-betweens crowd towards the middle
    assert middle(0.25) - middle(0.125) < 0.125 < middle(0.125)


@pytest.mark.parametrize(
    ("name", "message"),
    [("beta()", "beta needs one or two numbers"), ("beta(1,2,3)", "beta needs one or two numbers"),
     ("beta(x)", "beta needs one or two numbers"), ("beta(0.1)", "a and b must lie between 0.5 and 50"),
     ("beta(500)", "a and b must lie between 0.5 and 50")],
)  # fmt: skip
def test_bad_beta_eases(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_ease(name)


def test_a_beta_eased_morph_places_its_frames_on_the_quantiles() -> None:
    from morphapp.core.domain.settings import MorphSettings
    from morphapp.core.render.frames import plan_for

    plan = plan_for(MorphSettings(segment_frames=(8,), ease="beta(2)"), 2)
    ease = parse_ease("beta(2)")
    assert [spec.t for spec in plan] == pytest.approx([ease(k / 8) for k in range(9)])
    assert plan[1].t == pytest.approx(0.2211, abs=1e-3)  # Beta(2, 2)'s 1/8 quantile
