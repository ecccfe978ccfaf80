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

On a GPU, before dropping anything, the plan tries the CPU: every layer recorded into the
machine's memory (``host_budget``: a quarter of it, up to 16 GiB) and each layer's keys and
values copied to the GPU when an in-between's step uses them. That costs the copies (per frame,
the two keyframes' stores once: ~1.3 GB for SD 1.5 at 512², ~0.1 s over PCIe 4) and keeps every
layer the method mixes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch

from morphapp.diffusion.nets import Unet

if TYPE_CHECKING:
    from diffusers.models.attention_processor import Attention

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
    offload: bool = False  # kept in the machine's memory, copied to the device per layer and step

    def describe(self) -> str:
        total = self.bytes_per_keyframe * self.keyframes
        if not self.layers and self.full_bytes_per_keyframe == 0:  # no step was asked to mix at all
            return (
                "attention store: off (attention mixing is turned off: --attn-steps 0); in-betweens use "
                "noise and text only"
            )
        if not self.layers:
            return (
                f"attention store: off (even one up-block step, {_size(self.full_bytes_per_keyframe)} "
                f"per keyframe in full, exceeds the {_size(self.budget)} budget); in-betweens use noise and "
                "text only"
            )
        where = ", in CPU memory, copied to the GPU per step" if self.offload else ""
        return (
            f"attention store: {_size(total)} of {_size(self.budget)} ({self.what}, {self.steps} steps, "
            f"float16, {_size(self.bytes_per_keyframe)} per keyframe x {self.keyframes}{where})"
        )


def _size(n: int) -> str:
    return f"{n / GIB:.2f} GB" if n >= GIB / 10 else f"{n / 1024**2:.1f} MB"


def default_budget(device: torch.device) -> int:
    if device.type == "cuda" and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(device).total_memory
        return int(min(4 * GIB, total // 4))
    return 2 * GIB


def host_budget() -> int:
    """Bytes of the machine's memory an offloaded store may take: a quarter of it, up to 16 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf: assume a 16 GB machine
        total = 16 * GIB
    return int(min(16 * GIB, total // 4))


def layer_shapes(unet: Unet, size: tuple[int, int], downscale: int) -> list[LayerShape]:
    """Tokens and channels of every self-attention layer at this frame size, from the UNet itself."""
    levels = len(unet.config.block_out_channels)
    width, height = size[0] // downscale, size[1] // downscale
    shapes = []
    for name in unet.attn_processors:
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
        # A processor's module is a diffusers Attention (its to_k a Linear); get_submodule says Module.
        attn = cast("Attention", unet.get_submodule(name.removesuffix(".processor")))
        shapes.append(LayerShape(name, h * w, int(attn.to_k.out_features), block))
    return shapes


def bytes_for(shapes: list[LayerShape], steps: int, batch: int) -> int:
    element = torch.finfo(STORE_DTYPE).bits // 8
    return sum(2 * batch * s.tokens * s.channels * element for s in shapes) * steps


def plan(
    shapes: list[LayerShape],
    *,
    start: int,
    until: int,
    batch: int,
    budget: int,
    keyframes: int,
    host: int = 0,
) -> AttentionPlan:
    """The largest recording in budget: all layers, then mid+up, then up-blocks, each on the device
    or, on a GPU short of memory (``host`` > 0: the bytes the machine's memory may hold), in CPU
    memory; then fewer steps of the up-blocks on the device."""
    steps = max(0, until - start)
    full = bytes_for(shapes, steps, batch)
    per_keyframe_budget = budget // max(1, keyframes)
    per_keyframe_host = host // max(1, keyframes)
    tiers = (
        ("all layers", ("down", "mid", "up")),
        ("mid- and up-blocks", ("mid", "up")),
        ("up-blocks", ("up",)),
    )
    for what, blocks in tiers:
        chosen = [s for s in shapes if s.block in blocks]
        size = bytes_for(chosen, steps, batch)
        for offload, room, total in ((False, per_keyframe_budget, budget), (True, per_keyframe_host, host)):
            if chosen and 0 < size <= room:
                return AttentionPlan(
                    frozenset(s.name for s in chosen), until, steps, size, full, total, keyframes, what,
                    offload=offload,
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
