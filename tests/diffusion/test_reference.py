"""morphapp's own diffusion pieces against diffusers' (issue 14's tests): the attention processor
with mixing off, the DDIM loop, and the direction of classifier-free guidance."""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler
from diffusers.models.attention_processor import AttnProcessor2_0

from morphapp.core.domain.keyframes import PromptKeyframe
from morphapp.diffusion import attention
from morphapp.diffusion.ddim import DdimSchedule, denoise
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher
from tests.diffusion.test_morph import SIZE, settings


def _latents(model: DiffusionModel, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator("cpu").manual_seed(seed)
    side = SIZE[0] // model.downscale
    return torch.randn(1, model.latent_channels, side, side, generator=generator)


def test_the_attention_hook_with_mixing_off_is_diffusers_own_attention(tiny_sd: DiffusionModel) -> None:
    cond = tiny_sd.encode_prompt("a red fox", SIZE)
    x = _latents(tiny_sd)
    state = attention.AttentionState()
    hooked = attention.install(tiny_sd.unet, state)
    assert hooked > 0
    ours = tiny_sd.predict(x, 500, cond)
    tiny_sd.unet.set_attn_processor(AttnProcessor2_0())
    try:
        theirs = tiny_sd.predict(x, 500, cond)
    finally:
        attention.install(tiny_sd.unet, state)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_the_ddim_loop_equals_diffusers_ddim_scheduler(tiny_sd: DiffusionModel) -> None:
    cond = tiny_sd.encode_prompt("a blue car", SIZE)
    attention.install(tiny_sd.unet, attention.AttentionState())  # hooks off: plain attention
    schedule = DdimSchedule.from_scheduler_config(tiny_sd.scheduler_config, 6)
    x = _latents(tiny_sd, 1)
    ours = denoise(x.clone(), schedule, lambda latents, _i, t: tiny_sd.predict(latents, t, cond))
    scheduler = DDIMScheduler.from_config(tiny_sd.scheduler_config)
    scheduler.set_timesteps(6)
    theirs = x.clone()
    for t in scheduler.timesteps:
        theirs = scheduler.step(tiny_sd.predict(theirs, int(t), cond), t, theirs, eta=0.0).prev_sample
    assert [int(t) for t in scheduler.timesteps] == list(schedule.timesteps)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4), (ours - theirs).abs().max()


def test_guidance_pushes_from_the_unconditional_towards_the_prompt(tiny_sd: DiffusionModel) -> None:
    """out = uncond + g (cond - uncond): swapping the two halves gives a different answer."""
    morpher = DiffusionMorpher(
        tiny_sd, [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], settings()
    )
    cond = tiny_sd.encode_prompt("a red fox", SIZE)
    uncond = morpher._unconditional()
    x = _latents(tiny_sd, 2)
    guided = morpher._model_fn(cond, 3.0)(x, 0, 700)
    out_c, out_u = tiny_sd.predict(x, 700, cond), tiny_sd.predict(x, 700, uncond)
    assert torch.allclose(guided, out_u + 3.0 * (out_c - out_u), atol=1e-4)
    assert not torch.allclose(guided, out_c + 3.0 * (out_u - out_c), atol=1e-3)  # the wrong way round
