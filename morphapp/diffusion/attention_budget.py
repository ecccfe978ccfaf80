"""How much recorded self-attention a morph may keep, and what to record to stay within it.

Recording every ``attn1`` layer's keys and values for the first ``attn_steps`` share of the steps
costs, per keyframe, 2 (K and V) x batch x tokens x channels x steps values per layer: about
0.7 GB for SD 1.5 at 512² in float32, 6 GB for SDXL at 1024². Values are stored in float16 (half
of float32; K/V stay well inside float16's range). When that still exceeds the budget the plan
drops layers the way the published methods keep what matters — down-blocks first (their layout
is carried by the noise), then the mid-block, keeping the up-blocks (DiffMorpher and AID mix
attention in the decoder half too) — and then records fewer of the early steps, where layout is
decided. With not even one up-block step in budget, attention mixing is off and the plan says so.

The budget covers the keyframe states a morpher keeps at once (``MAX_KEYFRAME_STATES``). Its
default depends on the device: a quarter of a GPU's memory up to 4 GiB, 2 GiB elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

STORE_DTYPE = torch.float16
GIB = 1024**3


@dataclass(frozen=True)
class LayerShape:
    name: str  # the processor's name, as ``unet.attn_processors`` gives it
    tokens: int
    channels: int
    block: str  # "down", "mid" or "up"


@dataclass(frozen=True)
class AttentionPlan:
    layers: frozenset[str]  # processors that record and mix
    until_step: int  # absolute step index: record / mix below it
    steps: int  # how many steps are recorded
    bytes_per_keyframe: int
    full_bytes_per_keyframe: int  # every layer, every attention step (what was recorded before)
    budget: int
    keyframes: int  # states kept at once, which the budget covers
    what: str  # which layers

    def describe(self) -> str:
        total = self.bytes_per_keyframe * self.keyframes
        if not self.layers:
            return (
                f"attention store: off (even one up-block step, {_size(self.full_bytes_per_keyframe)} "
                f"per keyframe in full, exceeds the {_size(self.budget)} budget); in-betweens use noise and "
                "text only"
            )
        return (
            f"attention store: {_size(total)} of {_size(self.budget)} ({self.what}, {self.steps} steps, "
            f"float16, {_size(self.bytes_per_keyframe)} per keyframe x {self.keyframes})"
        )


def _size(n: int) -> str:
    return f"{n / GIB:.2f} GB" if n >= GIB / 10 else f"{n / 1024**2:.1f} MB"


def default_budget(device: torch.device) -> int:
    if device.type == "cuda" and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(device).total_memory
        return int(min(4 * GIB, total // 4))
    return 2 * GIB


def layer_shapes(unet: torch.nn.Module, size: tuple[int, int], downscale: int) -> list[LayerShape]:
    """Tokens and channels of every self-attention layer at this frame size, from the UNet itself."""
    levels = len(unet.config.block_out_channels)  # type: ignore[union-attr]
    width, height = size[0] // downscale, size[1] // downscale
    shapes = []
    for name in unet.attn_processors:  # type: ignore[union-attr]
        if not name.endswith("attn1.processor"):
            continue
        parts = name.split(".")
        if parts[0] == "down_blocks":
            level, block = int(parts[1]), "down"
        elif parts[0] == "up_blocks":
            level, block = levels - 1 - int(parts[1]), "up"
        else:
            level, block = levels - 1, "mid"
        # Each down step is a stride-2 convolution with padding 1: ceil(n / 2).
        h, w = height, width
        for _ in range(level):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        attn = unet.get_submodule(name.removesuffix(".processor"))
        shapes.append(LayerShape(name, h * w, int(attn.to_k.out_features), block))
    return shapes


def bytes_for(shapes: list[LayerShape], steps: int, batch: int) -> int:
    element = torch.finfo(STORE_DTYPE).bits // 8
    return sum(2 * batch * s.tokens * s.channels * element for s in shapes) * steps


def plan(
    shapes: list[LayerShape], *, start: int, until: int, batch: int, budget: int, keyframes: int
) -> AttentionPlan:
    """The largest recording (all layers, then up+mid, then up-blocks, then fewer steps) in budget."""
    steps = max(0, until - start)
    full = bytes_for(shapes, steps, batch)
    per_keyframe_budget = budget // max(1, keyframes)
    tiers = (
        ("all layers", ("down", "mid", "up")),
        ("mid- and up-blocks", ("mid", "up")),
        ("up-blocks", ("up",)),
    )
    for what, blocks in tiers:
        chosen = [s for s in shapes if s.block in blocks]
        if chosen and bytes_for(chosen, steps, batch) <= per_keyframe_budget:
            return AttentionPlan(
                frozenset(s.name for s in chosen), until, steps, bytes_for(chosen, steps, batch), full,
                budget, keyframes, what,
            )  # fmt: skip
    up = [s for s in shapes if s.block == "up"]
    per_step = bytes_for(up, 1, batch)
    fitting = min(steps, per_keyframe_budget // per_step) if per_step else 0
    if fitting < 1:
        return AttentionPlan(frozenset(), start, 0, 0, full, budget, keyframes, "none")
    return AttentionPlan(
        frozenset(s.name for s in up), start + fitting, fitting, bytes_for(up, fitting, batch), full, budget,
        keyframes, "up-blocks, first steps only",
    )  # fmt: skip
