"""Self-attention that carries the two endpoints into every in-between (AID / DiffMorpher style).

Denoising a slerped noise alone gives in-betweens that drift away from both keyframes: the
model invents a third picture. While a keyframe is denoised, its self-attention keys and values
are recorded per layer and step; an in-between at t then attends over its own keys/values *and*
the endpoints' (1 - t)·K_a + t·K_b, V likewise, for the first ``attn_steps`` share of the
steps, where layout is decided. At t = 0 the mixed keys equal the frame's own, so a keyframe is
reproduced exactly; in between, structure comes from both ends.

That is AID's fused *inner* attention interpolation (He et al., "AID: Attention Interpolation of
Text-to-Image Diffusion", NeurIPS 2024), ``method="inner"``. Its fused *outer* form,
``method="outer"``, attends to each keyframe apart, each together with the frame's own keys and
values, and blends the two outputs: (1 - t)·Attn(Q, [K_a, K], [V_a, V]) + t·Attn(Q, [K_b, K], [V_b, V]).
``method="freemorph"`` is FreeMorph's denoising schedule (Cao et al., ICCV 2025, as its code has
it): the same blend without the frame's own keys/values, (1 - t)·Attn(Q, K_a, V_a) + t·Attn(Q, K_b,
V_b), for the first fifth of the steps (``fused_from``), then the fused outer form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention

from morphapp.diffusion.attention_budget import STORE_DTYPE
from morphapp.diffusion.nets import Unet

KvStore = dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]]  # (layer, step) -> (keys, values)


@dataclass
class AttentionState:
    """What the hooked layers do on the current UNet call; the sampler sets ``step`` each step."""

    mode: str = "off"  # "off", "record" (into ``recorded``) or "mix" (``a`` and ``b`` at ``t``)
    step: int = 0
    until_step: int = 0  # record / mix only on steps below this
    recorded: KvStore = field(default_factory=dict)
    a: KvStore | None = None
    b: KvStore | None = None
    t: float = 0.0
    # Which half of a guided (uncond, cond) batch the current call is, when the two run one by
    # one (the VRAM ladder); None: the call carries the whole batch.
    part: int | None = None
    # The layers that record and mix (``attention_budget.plan``); None: every self-attention layer.
    layers: frozenset[str] | None = None
    method: str = "inner"  # how "mix" attends to the two keyframes (the module's docstring)
    fused_from: int = 0  # "freemorph": steps below this attend to the keyframes alone (not fused)
    # Where recorded keys/values live: None, the UNet's device; the CPU when the plan offloads them
    # (they are copied back to the UNet's device, layer by layer, when an in-between uses them).
    store_device: torch.device | None = None

    def record(self, until_step: int) -> None:
        self.mode, self.until_step, self.recorded = "record", until_step, {}

    def mix(self, a: KvStore, b: KvStore, t: float, until_step: int) -> None:
        self.mode, self.a, self.b, self.t, self.until_step = "mix", a, b, t, until_step

    def off(self) -> None:
        self.mode, self.a, self.b, self.recorded = "off", None, None, {}


class MorphSelfAttention:
    """diffusers attention processor (scaled dot-product) with record / mix hooks on K and V."""

    def __init__(self, layer: str, state: AttentionState) -> None:
        self.layer = layer
        self.state = state

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **_: object,
    ) -> torch.Tensor:
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        batch = hidden_states.shape[0]
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        source = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query = attn.to_q(hidden_states)
        key = attn.to_k(source)
        value = attn.to_v(source)
        head_dim = query.shape[-1] // attn.heads
        query = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        out = None
        for weight, key_part, value_part in self._hook(key, value):  # one attention, or two blended
            mask = None
            if attention_mask is not None:
                mask = attn.prepare_attention_mask(attention_mask, key_part.shape[1], batch)
                mask = mask.view(batch, attn.heads, -1, mask.shape[-1])
            key_part = key_part.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
            value_part = value_part.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
            if attn.norm_k is not None:
                key_part = attn.norm_k(key_part)
            part = F.scaled_dot_product_attention(query, key_part, value_part, attn_mask=mask)
            part = part if weight == 1.0 else weight * part  # one plain attention stays bit-exact
            out = part if out is None else out + part
        assert out is not None
        out = out.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if input_ndim == 4:
            out = out.transpose(-1, -2).reshape(batch, channel, height, width)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor

    def _hook(self, key: torch.Tensor, value: torch.Tensor) -> list[tuple[float, torch.Tensor, torch.Tensor]]:
        """The (weight, keys, values) to attend over; the layer's output is the weighted sum."""
        state = self.state
        if state.mode == "off" or state.step >= state.until_step:
            return [(1.0, key, value)]
        if state.layers is not None and self.layer not in state.layers:
            return [(1.0, key, value)]  # outside the attention budget: neither recorded nor mixed
        slot = (self.layer, state.step)
        if state.mode == "record":
            # Stored in float16 (half the bytes; K and V stay well inside its range).
            where = state.store_device or key.device
            stored = (key.detach().to(where, STORE_DTYPE), value.detach().to(where, STORE_DTYPE))
            if state.part == 1:  # the second half of a split batch: stored as one (uncond, cond) batch
                key_0, value_0 = state.recorded[slot]
                stored = (torch.cat([key_0, stored[0]]), torch.cat([value_0, stored[1]]))
            state.recorded[slot] = stored
            return [(1.0, key, value)]
        assert state.a is not None and state.b is not None
        key_a, value_a = (
            x.to(key.device, non_blocking=True) for x in self._part(state.a[slot], key.shape[0])
        )
        key_b, value_b = (
            x.to(key.device, non_blocking=True) for x in self._part(state.b[slot], key.shape[0])
        )
        if state.method == "freemorph" and state.step < state.fused_from:  # the keyframes alone
            return [(1.0 - state.t, key_a.to(key.dtype), value_a.to(value.dtype)),
                    (state.t, key_b.to(key.dtype), value_b.to(value.dtype))]  # fmt: skip
        if state.method in ("outer", "freemorph"):
            with_a = (
                torch.cat([key_a.to(key.dtype), key], dim=1),
                torch.cat([value_a.to(value.dtype), value], dim=1),
            )
            with_b = (
                torch.cat([key_b.to(key.dtype), key], dim=1),
                torch.cat([value_b.to(value.dtype), value], dim=1),
            )
            return [(1.0 - state.t, *with_a), (state.t, *with_b)]
        mixed_key = torch.lerp(key_a, key_b, state.t).to(key.dtype)
        mixed_value = torch.lerp(value_a, value_b, state.t).to(value.dtype)
        return [(1.0, torch.cat([key, mixed_key], dim=1), torch.cat([value, mixed_value], dim=1))]

    def _part(self, kv: tuple[torch.Tensor, torch.Tensor], batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The recorded keys/values matching this call's batch. A keyframe may have been recorded
        with another guidance than the in-between uses (an image keyframe unguided, batch 1; a
        prompt keyframe guided, batch 2 = uncond, cond)."""
        key, value = kv
        recorded, part = key.shape[0], self.state.part
        if recorded == batch:
            return kv
        if part is not None and recorded == 2:  # one half of a split guided call: that half
            return key[part : part + 1], value[part : part + 1]
        if recorded == 1:  # an unguided record serves both halves of a guided call
            return key.expand(batch, *key.shape[1:]), value.expand(batch, *value.shape[1:])
        return key[-1:], value[-1:]  # a guided record, an unguided call: its conditional half


def install(unet: Unet, state: AttentionState) -> int:
    """Put the hook on every self-attention layer (``attn1``) of ``unet``; returns how many."""
    processors: dict[str, object] = {}
    hooked = 0
    for name, processor in unet.attn_processors.items():
        if name.endswith("attn1.processor"):
            processors[name] = MorphSelfAttention(name, state)
            hooked += 1
        else:
            processors[name] = processor
    unet.set_attn_processor(processors)
    return hooked
