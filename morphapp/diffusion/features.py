"""Semantic correspondences from a diffusion model's features (DIFT: Tang et al., "Emergent
Correspondence from Image Diffusion", NeurIPS 2023; DreamMover uses them for morphs).

A photo's latent, noised to a middling timestep, goes through the UNet once (empty prompt); the
output of an up-block is a feature map in which a cat's eye and a dog's eye lie close even though
their pixels do not. Each point of a grid on keyframe a is paired with the most similar place in
b (cosine similarity), and kept only when a's most similar place for that one is back near the
point (mutual nearest neighbours) and the best match is clearly closer than the best one
elsewhere (Lowe's ratio test, on cosine distance). The points then go through the same never-worse guard as
every other ``--align`` path (``align_guard.judge_points``): kept only when pulling b onto a
with them brings the two closer.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from morphapp.core.align.guard import AlignResult, judge_points
from morphapp.core.domain.points import PointPair
from morphapp.core.render.frames import to_tensor
from morphapp.diffusion.ddim import DdimSchedule
from morphapp.diffusion.model import DiffusionModel

DIFT_TIMESTEP = 261  # DIFT's choice for SD: enough noise to drop texture, little enough to keep layout
UP_BLOCK = 1  # the second up-block: DIFT's semantic level (the first is too coarse)
GRID = 7  # points per side, as the feature path's grid
MUTUAL_CELLS = 1.5  # a's best match for b's point must come back within this many feature cells
RATIO = 0.8  # Lowe's test on cosine distance: the best match clearly better than any elsewhere
FEATURE_SIDE = 512  # images are fed at most this size (the side DIFT was measured at)
MIN_POINTS = 6  # fewer mutual matches say nothing reliable about the layout


@torch.no_grad()
def dift_features(
    model: DiffusionModel, pixels: np.ndarray, seed: int = 0, timestep: int = DIFT_TIMESTEP
) -> torch.Tensor:
    """(C, h, w) float32 unit-norm features of an H x W x 3 uint8 image. The two images of a pair
    get different noise (``seed``): the same noise at the same places would pair places, not things."""
    latents = model.encode_image(to_tensor(pixels))
    schedule = DdimSchedule.from_scheduler_config(model.scheduler_config, 50)
    alpha = float(schedule.alphas_cumprod[timestep])
    noise = torch.randn(latents.shape, generator=torch.Generator("cpu").manual_seed(seed)).to(latents.device)
    noisy = alpha**0.5 * latents + (1 - alpha) ** 0.5 * noise
    captured: list[torch.Tensor] = []
    blocks = model.unet.up_blocks
    block = blocks[min(UP_BLOCK, len(blocks) - 1)]
    hook = block.register_forward_hook(
        lambda _m, _i, out: captured.append(out[0] if isinstance(out, tuple) else out)
    )
    try:
        model.predict(noisy, timestep, model.encode_prompt("", (pixels.shape[1], pixels.shape[0])))
    finally:
        hook.remove()
    features = captured[0][0].to(torch.float32).cpu()  # (C, h, w)
    return F.normalize(features, dim=0)


def dift_points(features_a: torch.Tensor, features_b: torch.Tensor) -> list[PointPair]:
    """Mutual nearest neighbours from a grid on a to b, as normalised (xa, ya, xb, yb)."""
    channels, height, width = features_a.shape
    flat_a = features_a.reshape(channels, -1)
    flat_b = features_b.reshape(channels, -1)
    ticks = np.linspace(0.1, 0.9, GRID)
    ys, xs = (
        g.reshape(-1).to(torch.float32)
        for g in torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    )
    points: list[PointPair] = []
    for y in ticks:
        for x in ticks:
            ia = min(height - 1, int(y * height)) * width + min(width - 1, int(x * width))
            similar = flat_a[:, ia] @ flat_b
            ib = int(torch.argmax(similar))
            back = int(torch.argmax(flat_b[:, ib] @ flat_a))
            ya_cell, xa_cell = divmod(ia, width)
            yb_cell, xb_cell = divmod(ib, width)
            yback, xback = divmod(back, width)
            if np.hypot(xback - xa_cell, yback - ya_cell) > MUTUAL_CELLS:
                continue
            far = torch.hypot(xs - xb_cell, ys - yb_cell) > MUTUAL_CELLS  # the best match elsewhere
            if 1.0 - float(similar[ib]) > RATIO * (1.0 - float(similar[far].max())):
                continue
            points.append(
                (
                    (xa_cell + 0.5) / width,
                    (ya_cell + 0.5) / height,
                    (xb_cell + 0.5) / width,
                    (yb_cell + 0.5) / height,
                )
            )
    return points


def semantic_align(model: DiffusionModel, pixels_a: np.ndarray, pixels_b: np.ndarray) -> AlignResult:
    """DIFT correspondences between two fitted keyframes, through the never-worse guard."""
    features_a, features_b = dift_features(model, _fed(pixels_a), 0), dift_features(model, _fed(pixels_b), 1)
    points = dift_points(features_a, features_b)
    detail = f"diffusion features of {model.name}"
    if len(points) < MIN_POINTS:
        return judge_points(
            pixels_a, pixels_b, (), "semantic", detail, f"{len(points)} mutual feature matches"
        )
    return judge_points(pixels_a, pixels_b, tuple(points), "semantic", detail)


def _fed(pixels: np.ndarray) -> np.ndarray:
    """The image as the UNet sees it: at most FEATURE_SIDE, sides multiples of 64 (UNet strides)."""
    from PIL import Image

    height, width = pixels.shape[:2]
    scale = min(1.0, FEATURE_SIDE / max(height, width))
    size = (max(64, round(width * scale / 64) * 64), max(64, round(height * scale / 64) * 64))
    if size == (width, height):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))
