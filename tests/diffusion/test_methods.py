"""--method: AID's fused inner and outer attention interpolation, against a hand computation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import Attention

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import PromptKeyframe
from morphapp.core.domain.project import Project, load_project, save_project
from morphapp.core.domain.settings import MorphSettings
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


def test_freemorph_attends_to_the_keyframes_alone_first_then_fused() -> None:
    torch.manual_seed(1)
    attn = Attention(query_dim=8, heads=2, dim_head=4).eval()
    hidden = torch.randn(1, 5, 8)
    key_a, value_a, key_b, value_b = (torch.randn(1, 5, 8) for _ in range(4))
    t = 0.6
    state = attention.AttentionState(method="freemorph", fused_from=2)
    store_a = {(LAYER, s): (key_a, value_a) for s in range(4)}
    store_b = {(LAYER, s): (key_b, value_b) for s in range(4)}
    state.mix(store_a, store_b, t, until_step=4)
    with torch.no_grad():
        q, k, v = attn.to_q(hidden), attn.to_k(hidden), attn.to_v(hidden)
        state.step = 1  # before fused_from: the keyframes' keys/values alone
        early = attention.MorphSelfAttention(LAYER, state)(attn, hidden)
        expected = (1 - t) * _attend(attn, q, key_a, value_a) + t * _attend(attn, q, key_b, value_b)
        torch.testing.assert_close(early, expected, atol=1e-5, rtol=1e-4)
        state.step = 2  # from fused_from on: the fused outer form
        late = attention.MorphSelfAttention(LAYER, state)(attn, hidden)
        with_a = _attend(attn, q, torch.cat([key_a, k], 1), torch.cat([value_a, v], 1))
        with_b = _attend(attn, q, torch.cat([key_b, k], 1), torch.cat([value_b, v], 1))
        torch.testing.assert_close(late, (1 - t) * with_a + t * with_b, atol=1e-5, rtol=1e-4)


def test_high_frequency_injection_keeps_the_low_band_and_takes_the_rest_from_the_noise() -> None:
    from morphapp.diffusion.noise import inject_high_frequencies

    g = torch.Generator().manual_seed(0)
    latent, noise = torch.randn(1, 4, 32, 32, generator=g), torch.randn(1, 4, 32, 32, generator=g)
    out = inject_high_frequencies(latent, noise, keep=0.5)
    assert out.dtype == latent.dtype and out.shape == latent.shape

    def band(x: torch.Tensor) -> torch.Tensor:
        return torch.fft.fftshift(torch.fft.fft2(x.double()), dim=(-2, -1))

    low = torch.zeros(32, 32, dtype=torch.bool)
    low[8:25, 8:25] = True  # centre 16, half-side 0.5 x 16 = 8, symmetric about the centre
    torch.testing.assert_close(band(out)[..., low], band(latent)[..., low], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(band(out)[..., ~low], band(noise)[..., ~low], atol=1e-4, rtol=1e-4)
    whole = inject_high_frequencies(latent, noise, keep=1.0)  # the whole spectrum kept: the latent
    torch.testing.assert_close(whole, latent, atol=1e-5, rtol=0)


def test_freemorph_renders_and_keeps_the_keyframes(tiny_sd: DiffusionModel) -> None:
    keyframes = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]
    base = MorphSettings(size=(32, 32), frames=3, diffusion=DiffusionSettings(steps=5, attn_steps=1.0))
    outer = DiffusionMorpher(tiny_sd, keyframes, dataclasses.replace(
        base, diffusion=dataclasses.replace(base.diffusion, method="outer")))  # fmt: skip
    outer_frames = [outer.frame(0, 1, t) for t in (0.0, 0.5, 1.0)]
    free = DiffusionMorpher(tiny_sd, keyframes, dataclasses.replace(
        base, diffusion=dataclasses.replace(base.diffusion, method="freemorph")))  # fmt: skip
    assert free.state.fused_from == free.start + 1  # a fifth of 5 steps
    free_frames = [free.frame(0, 1, t) for t in (0.0, 0.5, 1.0)]
    np.testing.assert_array_equal(free_frames[0], outer_frames[0])
    np.testing.assert_array_equal(free_frames[2], outer_frames[2])
    assert (
        np.abs(free_frames[1].astype(int) - outer_frames[1].astype(int)).mean() > 0.5
    )  # the injected detail
    np.testing.assert_array_equal(free.frame(0, 1, 0.5), free_frames[1])  # the same noise every time
