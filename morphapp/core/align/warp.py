"""Warp fields: a smooth displacement field from point pairs, and the pixel and latent resampling it drives.

The field is a thin-plate spline (TPS) fitted to the control points, with points along the image
border that may only slide along it (corners fixed), so the frame edge never tears and content
moving toward an edge is not held back into a ghost (``TpsField.fit``'s ``border``). For a frame at ``t``
the control points sit at ``p_t = p_a + t (p_b - p_a)``; keyframe ``a`` is sampled at
``x - t F(x)`` and keyframe ``b`` at ``x + (1 - t) F(x)``, where ``F`` is the TPS through
``p_t -> p_b - p_a``: both are pulled to the same in-between geometry, then slerped.

All coordinates are normalised (0..1, origin top left, pixel centres at (i + 0.5) / n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from morphapp.core.domain.points import SegmentPoints, source_to_frame

BORDER_PINS = 13  # pinned points per image edge (corners included once)
_REGULARISATION = 1e-9  # keeps the TPS system solvable when points nearly coincide


def _tps_kernel(r2: torch.Tensor) -> torch.Tensor:
    """U(r) = r^2 log r^2 / 2 = r^2 log r, written on r^2 (0 at r = 0)."""
    return torch.where(r2 > 0, 0.5 * r2 * torch.log(r2.clamp_min(1e-300)), torch.zeros_like(r2))


def _border_pins(avoid: torch.Tensor, n: int = BORDER_PINS) -> torch.Tensor:
    ticks = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    zeros, ones = torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
    pins = torch.cat(
        [
            torch.stack([ticks, zeros], 1),
            torch.stack([ticks, ones], 1),
            torch.stack([zeros[1:-1], ticks[1:-1]], 1),
            torch.stack([ones[1:-1], ticks[1:-1]], 1),
        ]
    )
    if len(avoid):  # a pin on top of a control point would ask for two displacements at one place
        near = torch.cdist(pins, avoid).min(dim=1).values < 1e-3
        pins = pins[~near]
    return pins


def _slide_along_border(pins: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """The free (unpinned) field's moves at border points, kept only along the border.

    Content that moves toward an edge then slides along it instead of being held back, which is
    what left a ghost near the frame edge with a fully pinned border; the frame still never
    tears or shows outside-the-image pixels, and the corners stay put."""
    moves = free.clone()
    on_x_edge = (pins[:, 0] <= 1e-9) | (pins[:, 0] >= 1 - 1e-9)  # left/right edges: slide in y
    on_y_edge = (pins[:, 1] <= 1e-9) | (pins[:, 1] >= 1 - 1e-9)  # top/bottom edges: slide in x
    # No move across the edge: a border that gave a little (3 % of the side, once) sampled outside
    # the picture, which showed as a band of mirrored or repeated edge pixels along the frame edge.
    moves[on_x_edge, 0] = 0.0
    moves[on_y_edge, 1] = 0.0
    # Along the edge a point may not slide past a corner (nor halfway to one: no bunching).
    limit = torch.minimum(pins, 1.0 - pins) * 0.5
    return torch.maximum(torch.minimum(moves, limit), -limit)


@dataclass(frozen=True)
class TpsField:
    """A fitted thin-plate spline R^2 -> R^2 (a displacement, normalised units)."""

    centres: torch.Tensor  # (N, 2)
    weights: torch.Tensor  # (N, 2)
    affine: torch.Tensor  # (3, 2)

    @staticmethod
    def fit(points: torch.Tensor, values: torch.Tensor, *, border: str = "slide") -> TpsField:
        """``border``: "slide" (border points move only along the border, corners stay), "pin"
        (the border stays where it is) or "free" (no border points)."""
        points = points.to(torch.float64).reshape(-1, 2)
        values = values.to(torch.float64).reshape(-1, 2)
        if border not in ("slide", "pin", "free"):
            raise ValueError(f"border {border!r}: expected slide, pin or free")
        if border != "free" and len(points):
            pins = _border_pins(points)
            pin_values = torch.zeros_like(pins)
            if border == "slide":
                pin_values = _slide_along_border(pins, TpsField._solve(points, values)(pins))
            points = torch.cat([points, pins])
            values = torch.cat([values, pin_values])
        return TpsField._solve(points, values)

    @staticmethod
    def _solve(points: torch.Tensor, values: torch.Tensor) -> TpsField:
        n = len(points)
        kernel = _tps_kernel(torch.cdist(points, points).square())
        kernel = kernel + _REGULARISATION * torch.eye(n, dtype=torch.float64)
        homog = torch.cat([torch.ones(n, 1, dtype=torch.float64), points], 1)
        system = torch.zeros(n + 3, n + 3, dtype=torch.float64)
        system[:n, :n] = kernel
        system[:n, n:] = homog
        system[n:, :n] = homog.T
        rhs = torch.cat([values, torch.zeros(3, 2, dtype=torch.float64)])
        solution = torch.linalg.lstsq(system, rhs).solution
        return TpsField(points, solution[:n], solution[n:])

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        """Displacement at points ``xy`` (..., 2)."""
        flat = xy.to(torch.float64).reshape(-1, 2)
        out = torch.empty_like(flat)
        for start in range(0, len(flat), 65536):  # bounded memory for big frames
            chunk = flat[start : start + 65536]
            kernel = _tps_kernel(torch.cdist(chunk, self.centres).square())
            homog = torch.cat([torch.ones(len(chunk), 1, dtype=torch.float64), chunk], 1)
            out[start : start + 65536] = kernel @ self.weights + homog @ self.affine
        return out.reshape(xy.shape)


def pixel_grid(height: int, width: int) -> torch.Tensor:
    """(H, W, 2) normalised (x, y) of pixel centres."""
    ys = (torch.arange(height, dtype=torch.float64) + 0.5) / height
    xs = (torch.arange(width, dtype=torch.float64) + 0.5) / width
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], -1)


def segment_field(points: SegmentPoints, t: float, height: int, width: int) -> torch.Tensor:
    """F on an (H, W) grid: (H, W, 2), the displacement p_b - p_a spread from the points at p_t."""
    if not points:
        return torch.zeros(height, width, 2, dtype=torch.float64)
    arr = torch.tensor(points, dtype=torch.float64)
    p_a, p_b = arr[:, :2], arr[:, 2:]
    return dense_field(TpsField.fit(p_a + t * (p_b - p_a), p_b - p_a), height, width)


def dense_field(field: TpsField, height: int, width: int) -> torch.Tensor:
    """``field`` at every pixel centre of an (H, W) grid, (H, W, 2).

    A thin-plate spline is smooth away from its control points, so it is evaluated exactly on a
    coarse lattice (every ``FIELD_STEP`` px, first and last pixel centres included), spread by
    bilinear interpolation, and evaluated exactly again within ``1.5 * FIELD_STEP`` px of each
    control point, where its curvature peaks. The exact evaluation everywhere was 40 % of an
    aligned 512² render's time; this costs about a tenth of it (``bench/bench_align_speed.py``)."""
    rows, cols = _lattice(height), _lattice(width)
    if rows == height and cols == width:
        return field(pixel_grid(height, width))
    ys = torch.linspace(0.5 / height, 1 - 0.5 / height, rows, dtype=torch.float64)
    xs = torch.linspace(0.5 / width, 1 - 0.5 / width, cols, dtype=torch.float64)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    coarse = field(torch.stack([grid_x, grid_y], -1)).permute(2, 0, 1)[None]
    # align_corners=True puts the lattice's end points on the first and last pixel centres.
    fine = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=True)
    out = fine[0].permute(1, 2, 0).contiguous()
    near = _near_centres(field.centres, height, width, round(1.5 * FIELD_STEP))
    if near.any():
        out[near] = field(pixel_grid(height, width)[near])
    return out


FIELD_STEP = 4  # pixels between the exactly evaluated points of a dense field


def _near_centres(centres: torch.Tensor, height: int, width: int, radius: int) -> torch.Tensor:
    """(H, W) bool: pixels within ``radius`` (a square) of a control point."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    xs = (centres[:, 0] * width).floor().long().tolist()
    ys = (centres[:, 1] * height).floor().long().tolist()
    for x, y in zip(xs, ys, strict=True):
        mask[max(0, y - radius) : max(0, y + radius + 1), max(0, x - radius) : max(0, x + radius + 1)] = True
    return mask


def _lattice(side: int) -> int:
    return side if side <= 4 * FIELD_STEP else -(-(side - 1) // FIELD_STEP) + 1


def sample_positions(field: torch.Tensor, scale: float) -> torch.Tensor:
    """Normalised sampling positions x + scale * F(x), (H, W, 2), kept inside the picture (the
    spline overshoots its border points by a fraction of a pixel between them)."""
    height, width = field.shape[:2]
    return (pixel_grid(height, width) + scale * field).clamp_(0.0, 1.0)


def warp_tensor(image: torch.Tensor, positions: torch.Tensor, mode: str = "bicubic") -> torch.Tensor:
    """Resample ``image`` (1, C, H, W) at normalised ``positions`` (H, W, 2); edges replicate."""
    grid = (positions * 2.0 - 1.0).to(image.dtype)[None]  # align_corners=False: pixel centres
    return F.grid_sample(image, grid, mode=mode, padding_mode="border", align_corners=False)


def warp_pixels(pixels: np.ndarray, positions: torch.Tensor, *, mirror: bool = False) -> np.ndarray:
    """Resample an H x W x 3 uint8 image at ``positions`` with Lanczos (OpenCV) or bicubic.

    Outside the image: the edge pixels repeated, or with ``mirror`` the image mirrored at its
    edge (no streaks where the warp's sliding border lets a frame edge move inwards)."""
    height, width = pixels.shape[:2]
    map_x = (positions[..., 0] * width - 0.5).to(torch.float32).numpy()
    map_y = (positions[..., 1] * height - 0.5).to(torch.float32).numpy()
    try:
        import cv2
    except ImportError:  # pragma: no cover - OpenCV is a dependency; bicubic keeps it optional
        image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].to(torch.float32)
        out = warp_tensor(image, positions, "bicubic")[0].permute(1, 2, 0)
        return out.clamp(0, 255).round().to(torch.uint8).numpy()
    border = cv2.BORDER_REFLECT_101 if mirror else cv2.BORDER_REPLICATE
    return cv2.remap(pixels, map_x, map_y, cv2.INTER_LANCZOS4, borderMode=border)


def frame_points(
    points: SegmentPoints,
    source_a: tuple[int, int],
    source_b: tuple[int, int],
    size: tuple[int, int],
    fit: str,
) -> SegmentPoints:
    """Points given on the source images, mapped to the fitted frames' coordinates."""
    out = []
    for xa, ya, xb, yb in points:
        fa = source_to_frame(xa, ya, source_a, size, fit)
        fb = source_to_frame(xb, yb, source_b, size, fit)
        out.append((fa[0], fa[1], fb[0], fb[1]))
    return tuple(out)
