from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from morphapp.core.render.interpolate import interpolate, lerp, slerp
from morphapp.errors import InputError

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
vectors = st.lists(finite, min_size=4, max_size=4).map(lambda v: torch.tensor(v, dtype=torch.float32))
times = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(vectors, vectors, times)
def test_slerp_is_finite_exact_at_ends_and_norm_bounded(
    a: torch.Tensor, b: torch.Tensor, ts: list[float]
) -> None:
    out = slerp(a, b, [0.0, *ts, 1.0])
    assert torch.isfinite(out).all()
    assert torch.equal(out[0], a.to(torch.float64))
    assert torch.equal(out[-1], b.to(torch.float64))
    hi = max(a.double().norm().item(), b.double().norm().item())
    assert (out.flatten(1).norm(dim=1) <= hi * (1 + 1e-9) + 1e-9).all()


@pytest.mark.parametrize("case", ["identical", "opposite", "zero", "tiny-angle"])
def test_slerp_degenerate_pairs_never_nan(case: str) -> None:
    a = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(0))
    b = {"identical": a, "opposite": -a, "zero": torch.zeros_like(a), "tiny-angle": a + 1e-9}[case]
    out = slerp(a, b, torch.linspace(0, 1, 11))
    assert torch.isfinite(out).all()
    if case == "opposite":  # lerp fallback passes through the origin at the midpoint
        assert out[5].abs().max() < 1e-12


def test_slerp_keeps_norm_between_endpoints_while_lerp_shrinks() -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(32, 8, 8, generator=gen), torch.randn(32, 8, 8, generator=gen)
    mid_slerp = slerp(a, b, [0.5])[0].norm()
    mid_lerp = lerp(a, b, [0.5])[0].norm()
    expected = 0.5 * (a.double().norm() + b.double().norm())
    assert mid_slerp == pytest.approx(expected.item(), rel=1e-9)
    # Two random high-dimensional vectors are nearly orthogonal: lerp loses ~1/sqrt(2) of the norm.
    assert mid_lerp < 0.8 * expected


def test_slerp_interpolates_norm_linearly_when_norms_differ() -> None:
    a = torch.tensor([1.0, 0.0])
    b = torch.tensor([0.0, 3.0])
    out = slerp(a, b, [0.5])[0]
    assert out.norm().item() == pytest.approx(2.0)
    angle = math.atan2(out[1].item(), out[0].item())
    assert angle == pytest.approx(math.pi / 4)


def test_interpolate_rejects_unknown_path() -> None:
    with pytest.raises(InputError, match="unknown path"):
        interpolate("zigzag", torch.zeros(2), torch.ones(2), [0.5])
