"""--method: AID's fused inner and outer attention interpolation, against a hand computation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import Attention

from morphapp.core.diffusion_settings import DiffusionSettings
from morphapp.core.keyframes import PromptKeyframe
from morphapp.core.project import Project, load_project, save_project
from morphapp.core.settings import MorphSettings
from morphapp.diffusion import attention
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher
from morphapp.errors import InputError

LAYER = "block.attn1.processor"


def _attend(attn: Attention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Multi-head scaled dot-product attention of projected q/k/v, by hand, then the output layer."""

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(1, -1, attn.heads, x.shape[-1] // attn.heads).transpose(1, 2)

    scores = heads(query) @ heads(key).transpose(-1, -2) / (query.shape[-1] // attn.heads) ** 0.5
    out = scores.softmax(-1) @ heads(value)
    return attn.to_out[0](out.transpose(1, 2).reshape(1, -1, query.shape[-1]))


@pytest.mark.parametrize("method", ["inner", "outer"])
def test_mixing_equals_the_hand_computation(method: str) -> None:
    torch.manual_seed(0)
    attn = Attention(query_dim=8, heads=2, dim_head=4).eval()
    hidden = torch.randn(1, 5, 8)
    key_a, value_a, key_b, value_b = (torch.randn(1, 5, 8) for _ in range(4))
    t = 0.3
    state = attention.AttentionState(method=method)
    state.mix({(LAYER, 0): (key_a, value_a)}, {(LAYER, 0): (key_b, value_b)}, t, until_step=1)
    with torch.no_grad():
        ours = attention.MorphSelfAttention(LAYER, state)(attn, hidden)
        q, k, v = attn.to_q(hidden), attn.to_k(hidden), attn.to_v(hidden)
        if method == "inner":
            mixed_k, mixed_v = torch.lerp(key_a, key_b, t), torch.lerp(value_a, value_b, t)
            expected = _attend(attn, q, torch.cat([k, mixed_k], 1), torch.cat([v, mixed_v], 1))
        else:
            with_a = _attend(attn, q, torch.cat([key_a, k], 1), torch.cat([value_a, v], 1))
            with_b = _attend(attn, q, torch.cat([key_b, k], 1), torch.cat([value_b, v], 1))
            expected = (1 - t) * with_a + t * with_b
        other = "outer" if method == "inner" else "inner"
        state.method = other
        theirs = attention.MorphSelfAttention(LAYER, state)(attn, hidden)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
    assert (ours - theirs).abs().max() > 1e-3  # the two methods are different computations


def test_outer_changes_in_betweens_not_keyframes_and_keeps_keyframe_states(tiny_sd: DiffusionModel) -> None:
    keyframes = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]
    inner = MorphSettings(size=(32, 32), frames=3, diffusion=DiffusionSettings(steps=4, attn_steps=1.0))
    outer = dataclasses.replace(inner, diffusion=dataclasses.replace(inner.diffusion, method="outer"))
    morpher = DiffusionMorpher(tiny_sd, keyframes, inner)
    a, middle_inner, b = (morpher.frame(0, 1, t) for t in (0.0, 0.5, 1.0))
    made = morpher.states_made
    assert morpher.reusable_for(tiny_sd, keyframes, outer)  # the method does not touch keyframe states
    morpher.attach(settings=outer, cancel=None, progress=None, note=None, on_step=None)
    middle_outer = morpher.frame(0, 1, 0.5)
    assert morpher.states_made == made
    np.testing.assert_array_equal(morpher.frame(0, 1, 0.0), a)
    np.testing.assert_array_equal(morpher.frame(0, 1, 1.0), b)
    # the tiny random UNet's attention moves its pictures only a little, but it moves them
    assert not np.array_equal(middle_outer, middle_inner)


def test_the_method_is_saved_and_old_projects_read_as_inner(tmp_path: Path) -> None:
    keyframes = (PromptKeyframe("a"), PromptKeyframe("b"))
    settings = MorphSettings(diffusion=DiffusionSettings(method="outer"))
    save_project(Project(keyframes, settings), tmp_path / "p.json")
    assert load_project(tmp_path / "p.json").settings.diffusion.method == "outer"
    doc = json.loads((tmp_path / "p.json").read_text())
    del doc["settings"]["diffusion"]["method"]  # a project from before --method
    (tmp_path / "p.json").write_text(json.dumps(doc))
    assert load_project(tmp_path / "p.json").settings.diffusion.method == "inner"
    with pytest.raises(InputError, match="--method sideways: choose one of inner, outer"):
        DiffusionSettings(method="sideways").validate()
