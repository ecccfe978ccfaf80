"""The recorded-attention budget (issue 14): the estimate is what the hooks really store, and a
morph stays within its budget by recording fewer layers, then fewer steps, then none."""

from __future__ import annotations

import numpy as np
import torch

from morphapp.core.domain.keyframes import PromptKeyframe
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


def test_mixing_turned_off_says_so_and_blames_no_budget(tiny_sd: DiffusionModel) -> None:
    """Issue 25: --attn-steps 0 is the reason, not a budget that was never exceeded."""
    shapes = attention_budget.layer_shapes(tiny_sd.unet, SIZE, tiny_sd.downscale)
    off = attention_budget.plan(shapes, start=0, until=0, batch=2, budget=2 * 1024**3, keyframes=2)
    assert not off.layers and "--attn-steps 0" in off.describe() and "budget" not in off.describe()
    starved = attention_budget.plan(shapes, start=0, until=3, batch=2, budget=1, keyframes=2)
    assert not starved.layers and "exceeds the" in starved.describe()


def test_a_gpu_short_of_memory_keeps_every_layer_in_cpu_memory(tiny_sd: DiffusionModel) -> None:
    shapes = attention_budget.layer_shapes(tiny_sd.unet, SIZE, tiny_sd.downscale)
    full = attention_budget.bytes_for(shapes, 3, 2)
    args = {"start": 0, "until": 3, "batch": 2, "keyframes": 2}
    # on a GPU (host > 0) whose budget holds one step of the up-blocks only: all layers, offloaded
    offloaded = attention_budget.plan(shapes, budget=full // 4, host=4 * full, **args)
    assert offloaded.offload and offloaded.what == "all layers" and offloaded.steps == 3
    assert "in CPU memory, copied to the GPU per step" in offloaded.describe()
    # memory for the up-blocks only: those, offloaded, rather than fewer steps on the device
    up = attention_budget.bytes_for([s for s in shapes if s.block == "up"], 3, 2)
    partial = attention_budget.plan(shapes, budget=full // 4, host=2 * up, **args)
    assert partial.offload and partial.what == "up-blocks" and partial.steps == 3
    # the machine's memory too small as well: the old ladder (fewer steps), on the device
    shrunk = attention_budget.plan(shapes, budget=up, host=up, **args)
    assert not shrunk.offload and shrunk.what == "up-blocks, first steps only"
    # a CPU render (host 0) never offloads: its store is in that memory already
    assert not attention_budget.plan(shapes, budget=full // 4, host=0, **args).offload
    assert 0 < attention_budget.host_budget() <= 16 * attention_budget.GIB


def test_an_offloaded_store_records_to_its_device_and_renders_the_same_frames(
    tiny_sd: DiffusionModel,
) -> None:
    want = DiffusionMorpher(tiny_sd, KEYFRAMES, settings()).frame(0, 1, 0.5)  # (the UNet's hooks
    offloaded = DiffusionMorpher(tiny_sd, KEYFRAMES, settings())  # follow the newest morpher)
    offloaded.state.store_device = torch.device("cpu")  # what an offloading plan sets on a GPU
    assert all(k.device.type == "cpu" for k, _ in offloaded.keyframe_state(0).kv.values())
    np.testing.assert_array_equal(offloaded.frame(0, 1, 0.5), want)
