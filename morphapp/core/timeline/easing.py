"""Easing curves: map a segment's linear progress u in [0, 1] to the path position t.

Names follow CSS: linear, ease-in, ease-out, ease-in-out, and ``cubic-bezier(x1, y1, x2, y2)``;
``points(v0, v1, ..., vn)`` is a piecewise-linear curve through (k/n, v_k), rising from 0 to 1:
what ``--audio-reactive`` writes (one point per frame, so each frame's t is exactly v_k).
``beta(a)`` / ``beta(a,b)`` is the quantile function of the Beta(a, b) distribution: evenly spaced
frames take Beta-distributed t, AID's coefficient prior (He et al., NeurIPS 2024); a = b > 1 puts
more in-betweens near the middle of a segment, where a diffusion morph changes fastest.
Every curve maps 0 to exactly 0 and 1 to exactly 1, so keyframes land on their images.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from morphapp.errors import InputError

EaseFn = Callable[[float], float]

# Control points of the CSS named curves, so all named curves share one implementation.
NAMED_BEZIERS: dict[str, tuple[float, float, float, float]] = {
    "ease-in": (0.42, 0.0, 1.0, 1.0),
    "ease-out": (0.0, 0.0, 0.58, 1.0),
    "ease-in-out": (0.42, 0.0, 0.58, 1.0),
}
EASE_NAMES: tuple[str, ...] = (
    "linear", *NAMED_BEZIERS, "cubic-bezier(x1,y1,x2,y2)", "points(0,...,1)", "beta(a[,b])"
)  # fmt: skip

_BEZIER_RE = re.compile(r"^cubic-bezier\s*[(:]\s*([^)]*?)\s*\)?$")
_POINTS_RE = re.compile(r"^points\s*\(\s*([^)]*?)\s*\)$")
_BETA_RE = re.compile(r"^beta\s*\(\s*([^)]*?)\s*\)$")
MAX_BETA = 50.0  # past this nearly every frame sits on t = 0.5: a typo, not a pacing
MAX_POINTS = 100_000


@dataclass(frozen=True)
class PiecewiseLinear:
    """t through the points (k/n, values[k]); values rise from 0 to 1."""

    values: tuple[float, ...]

    def __call__(self, u: float) -> float:
        n = len(self.values) - 1
        x = min(1.0, max(0.0, u)) * n
        k = min(n - 1, math.floor(x))
        return self.values[k] + (x - k) * (self.values[k + 1] - self.values[k])


def points_ease(values: list[float]) -> str:
    """The ``points(...)`` name of a curve through ``values`` (0 first, 1 last), as projects store it."""
    return "points(" + ",".join("0" if v == 0 else "1" if v == 1 else f"{v:.6g}" for v in values) + ")"


def _parse_points(name: str, body: str) -> PiecewiseLinear:
    try:
        values = [float(p) for p in re.split(r"[\s,]+", body) if p]
    except ValueError:
        values = []
    if not 2 <= len(values) <= MAX_POINTS:
        raise InputError(f"--ease {name[:60]}: points() needs 2 or more numbers, from 0 up to 1")
    if values[0] != 0.0 or values[-1] != 1.0 or any(b < a for a, b in itertools.pairwise(values)):
        raise InputError(f"--ease {name[:60]}: points() must start at 0, end at 1 and never go down")
    return PiecewiseLinear(tuple(values))


@dataclass(frozen=True)
class CubicBezier:
    """CSS cubic-bezier timing: P0=(0,0), P1=(x1,y1), P2=(x2,y2), P3=(1,1)."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.x1 <= 1.0 and 0.0 <= self.x2 <= 1.0):
            raise InputError("cubic-bezier: x1 and x2 must lie in [0, 1] so time runs forwards")
        if not all(math.isfinite(v) for v in (self.x1, self.y1, self.x2, self.y2)):
            raise InputError("cubic-bezier: control points must be finite numbers")

    @staticmethod
    def _coord(s: float, p1: float, p2: float) -> float:
        inv = 1.0 - s
        return 3 * inv * inv * s * p1 + 3 * inv * s * s * p2 + s * s * s

    def __call__(self, u: float) -> float:
        if u <= 0.0:
            return 0.0
        if u >= 1.0:
            return 1.0
        # x(s) is monotone for x1, x2 in [0, 1]: bisection is robust and 60 steps reach float precision.
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if self._coord(mid, self.x1, self.x2) < u:
                lo = mid
            else:
                hi = mid
        return self._coord(0.5 * (lo + hi), self.y1, self.y2)


@dataclass(frozen=True)
class BetaQuantile:
    """t = the u-quantile of Beta(a, b): the inverse of its CDF, tabulated once on a fine grid
    (4097 points, CDF by the trapezoid rule on the density) and read back by interpolation."""

    a: float
    b: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b) and 0.5 <= self.a <= MAX_BETA
                and 0.5 <= self.b <= MAX_BETA):  # fmt: skip
            raise InputError(f"beta({self.a:g},{self.b:g}): a and b must lie between 0.5 and {MAX_BETA:g}")
        # Bin midpoints keep the density finite for a or b below 1.
        n = 4096
        xs = [(i + 0.5) / n for i in range(n)]
        log_norm = math.lgamma(self.a + self.b) - math.lgamma(self.a) - math.lgamma(self.b)
        density = [
            math.exp(log_norm + (self.a - 1) * math.log(x) + (self.b - 1) * math.log1p(-x)) for x in xs
        ]
        cdf = [0.0, *itertools.accumulate(d / n for d in density)]
        total = cdf[-1]
        object.__setattr__(self, "_grid", [i / n for i in range(n + 1)])
        object.__setattr__(self, "_cdf", [c / total for c in cdf])

    def __call__(self, u: float) -> float:
        if u <= 0.0:
            return 0.0
        if u >= 1.0:
            return 1.0
        cdf, grid = self._cdf, self._grid  # type: ignore[attr-defined]
        k = max(1, bisect.bisect_left(cdf, u))
        lo, hi = cdf[k - 1], cdf[k]
        return grid[k - 1] + (u - lo) / (hi - lo) * (grid[k] - grid[k - 1]) if hi > lo else grid[k]


def _linear(u: float) -> float:
    return min(1.0, max(0.0, u))


def parse_ease(name: str) -> EaseFn:
    """Return the easing function for a name, or raise InputError listing the valid names."""
    key = name.strip().lower()
    if key == "linear":
        return _linear
    if key in NAMED_BEZIERS:
        return CubicBezier(*NAMED_BEZIERS[key])
    match = _POINTS_RE.match(key)
    if match:
        return _parse_points(name, match.group(1))
    match = _BETA_RE.match(key)
    if match:
        try:
            values = [float(p) for p in re.split(r"[\s,]+", match.group(1)) if p]
        except ValueError:
            values = []
        if len(values) not in (1, 2):
            raise InputError(f"--ease {name}: beta needs one or two numbers, e.g. beta(2) or beta(2,3)")
        return BetaQuantile(values[0], values[-1])
    match = _BEZIER_RE.match(key)
    if match:
        parts = [p for p in re.split(r"[\s,]+", match.group(1)) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4:
            raise InputError(
                f"--ease {name}: cubic-bezier needs four numbers, e.g. cubic-bezier(0.4,0,0.2,1)"
            )
        return CubicBezier(*values)
    raise InputError(f"--ease {name}: unknown easing; choose one of {', '.join(EASE_NAMES)}")
