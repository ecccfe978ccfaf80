"""The recorded-attention budget (issue 14): the estimate is what the hooks really store, and a
morph stays within its budget by recording fewer layers, then fewer steps, then none."""

from __future__ import annotations

import numpy as np
import torch

from morphapp.core.keyframes import PromptKeyframe
from morphapp.diffusion import attention_budget
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher
from tests.diffusion.test_morph import SIZE, render, settings

KEYFRAMES = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]


def _stored_bytes(morpher: DiffusionMorpher, index: int) -> int:
    state = morpher.keyframe_state(index)
    return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in state.kv.values())


def test_the_estimate_is_what_the_hooks_store(tiny_sd: DiffusionModel) -> None:
    for guidance in (1.0, 3.0):  # unguided keyframes record one image, guided ones (uncond, cond)
        morpher = DiffusionMorpher(tiny_sd, KEYFRAMES, settings(guidance=guidance))
        plan = morpher.attn_plan
        assert plan.what == "all layers" and plan.steps > 0
        assert _stored_bytes(morpher, 0) == plan.bytes_per_keyframe
        assert all(k.dtype == torch.float16 for k, _v in morpher.keyframe_state(0).kv.values())


def test_a_small_budget_records_fewer_layers_then_fewer_steps_then_none(tiny_sd: DiffusionModel) -> None:
    full = DiffusionMorpher(tiny_sd, KEYFRAMES, settings()).attn_plan
    shapes = attention_budget.layer_shapes(tiny_sd.unet, SIZE, tiny_sd.downscale)
    up = [s for s in shapes if s.block == "up"]  # prompt keyframes at guidance 7.5: batch 2 (uncond, cond)
    cases = [
        (full.bytes_per_keyframe * 2, "all layers", full.steps),
        (attention_budget.bytes_for(up, full.steps, 2) * 2, "up-blocks", full.steps),
        (attention_budget.bytes_for(up, 1, 2) * 2, "up-blocks, first steps only", 1),
        (attention_budget.bytes_for(up, 1, 2), "none", 0),
    ]
    for budget, what, steps in cases:
        original = tiny_sd.attn_budget
        tiny_sd.attn_budget = budget
        try:
            morpher = DiffusionMorpher(tiny_sd, KEYFRAMES, settings())
            assert (morpher.attn_plan.what, morpher.attn_plan.steps) == (what, steps), budget
            stored = _stored_bytes(morpher, 0) + _stored_bytes(morpher, 1)
            assert stored <= budget  # the two keyframe states kept fit the budget together
            frames = render(KEYFRAMES, tiny_sd, settings(frames=3), morpher=morpher)
            assert len(frames) == 3
        finally:
            tiny_sd.attn_budget = original


def test_the_plan_is_printed_and_mixing_off_is_said(tiny_sd: DiffusionModel) -> None:
    notes: list[str] = []
    render(KEYFRAMES, tiny_sd, settings(frames=3), note=notes.append)
    assert any(n.startswith("attention store: ") and "all layers" in n for n in notes)
    original = tiny_sd.attn_budget
    tiny_sd.attn_budget = 1
    try:
        notes.clear()
        off = render(KEYFRAMES, tiny_sd, settings(frames=3), note=notes.append)
    finally:
        tiny_sd.attn_budget = original
    assert any(n.startswith("attention store: off") for n in notes)
    mixed = render(KEYFRAMES, tiny_sd, settings(frames=3))
    assert not np.array_equal(off[1], mixed[1])  # the in-between without attention really differs


def test_cli_attn_budget_is_honoured_and_printed(tiny_sd_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import contextlib
    import io

    from morphapp.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([
            "render", "prompt[1]:a red fox", "prompt[2]:a blue car", "--model", str(tiny_sd_dir),
            "--size", "32x32", "--frames", "3", "--steps", "4", "-o", str(tmp_path / "m.gif"),
            "--attn-budget", "0.0000001",
        ])  # fmt: skip
    assert code == 0, err.getvalue()
    assert "note: attention store: off" in err.getvalue()
