"""The diffusion morph on a tiny random SD pipeline: frames, endpoints, prompts, cache, cancel."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.diffusion.cache import InversionCache
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher, StepInfo
from morphapp.diffusion.render import PacingReport, render_diffusion_frames
from morphapp.errors import Cancelled
from morphapp.models.info import ModelInfo

SIZE = (32, 32)


def settings(frames: int = 5, **diffusion: object) -> MorphSettings:
    options = {"steps": 4, **diffusion}
    return MorphSettings(size=SIZE, frames=frames, diffusion=DiffusionSettings(**options))  # type: ignore[arg-type]


def images(pairs_dir: Path, a: str = "cat.png", b: str = "dog.png") -> list[Keyframe]:
    return [Keyframe(pairs_dir / a), Keyframe(pairs_dir / b)]


def render(keyframes: list, model: DiffusionModel, s: MorphSettings, **kw: object) -> list[np.ndarray]:
    return [f.pixels for f in render_diffusion_frames(keyframes, model, s, **kw)]  # type: ignore[arg-type]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_discovery_finds_the_pipeline_folder_as_a_usable_diffusion_model(tiny_sd_info: ModelInfo) -> None:
    assert tiny_sd_info.kind == "diffusers"
    assert tiny_sd_info.is_diffusion and tiny_sd_info.usable
    assert not tiny_sd_info.can_encode  # never the default model: that stays a TAE
    assert tiny_sd_info.latent_channels == 4


def test_image_morph_frames_endpoints_and_in_betweens(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    keyframes = images(pairs_dir)
    frames = list(render_diffusion_frames(keyframes, tiny_sd, settings(frames=5)))
    assert [f.spec.t for f in frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(f.pixels.shape == (32, 32, 3) and f.pixels.dtype == np.uint8 for f in frames)
    first, *inner, last = [f.pixels for f in frames]
    # The keyframes are shown as the model denoises them from their own inverted noise:
    # the same picture a t=0 / t=1 in-between would be.
    morpher = DiffusionMorpher(tiny_sd, keyframes, settings(frames=5))
    np.testing.assert_array_equal(morpher.keyframe_pixels(0), first)
    np.testing.assert_array_equal(morpher.keyframe_pixels(1), last)
    assert diff(first, last) > 5  # two different pictures
    for pixels in inner:  # every in-between is a new picture, not one of the ends
        assert diff(pixels, first) > 0.5 and diff(pixels, last) > 0.5
    # The path is continuous: close to t=0 the frame is closer to the first keyframe.
    near_a = morpher.frame(0, 1, 0.02)
    near_b = morpher.frame(0, 1, 0.98)
    assert diff(near_a, first) < diff(near_a, last)
    assert diff(near_b, last) < diff(near_b, first)


def test_prompt_morph_is_deterministic_per_seed(tiny_sd: DiffusionModel) -> None:
    keyframes = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]
    s = settings(frames=4)
    first = render(keyframes, tiny_sd, s)
    again = render(keyframes, tiny_sd, s)
    assert len(first) == 4
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = render([PromptKeyframe("a red fox", seed=9), keyframes[1]], tiny_sd, s)
    assert diff(other_seed[0], first[0]) > 1
    np.testing.assert_array_equal(other_seed[-1], first[-1])  # the other end is untouched
    # Unseeded prompt keyframes take the morph's seed plus their index.
    unseeded = render(
        [PromptKeyframe("a red fox"), PromptKeyframe("a blue car")], tiny_sd, settings(frames=4)
    )
    reseeded = MorphSettings(size=SIZE, frames=4, seed=5, diffusion=DiffusionSettings(steps=4))
    assert diff(render([PromptKeyframe("a red fox"), PromptKeyframe("a blue car")], tiny_sd, reseeded)[0],
                unseeded[0]) > 1  # fmt: skip


def test_image_to_prompt_segment_inverts_fully_and_says_so(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    notes: list[str] = []
    keyframes = [Keyframe(pairs_dir / "lion.png"), PromptKeyframe("a tiger", seed=4)]
    frames = render(keyframes, tiny_sd, settings(frames=4, strength=0.5), note=notes.append)
    assert len(frames) == 4
    assert any("inverted fully" in n for n in notes)


def test_strength_below_one_denoises_fewer_steps(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    steps: list[StepInfo] = []
    render(images(pairs_dir), tiny_sd, settings(frames=3, steps=8, strength=0.5), on_step=steps.append)
    assert {s.total for s in steps} == {4}
    assert [s.step for s in steps[:4]] == [1, 2, 3, 4]


def test_inversions_are_cached_on_disk_and_reused(
    tiny_sd: DiffusionModel, pairs_dir: Path, tmp_path: Path
) -> None:
    keyframes = images(pairs_dir, "house0.jpg", "house1.jpg")
    s = settings(frames=3)
    morpher = DiffusionMorpher(tiny_sd, keyframes, s, cache=InversionCache(tmp_path))
    first = morpher.keyframe_pixels(0)
    assert morpher.inversions_run == 1
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    # A new process: a fresh cache object on the same folder; other frame counts and guidance reuse it.
    again = DiffusionMorpher(
        tiny_sd, keyframes, settings(frames=9, attn_steps=0.3), cache=InversionCache(tmp_path)
    )
    np.testing.assert_array_equal(again.keyframe_pixels(0), first)
    assert again.inversions_run == 0
    again.keyframe_pixels(1)
    assert again.inversions_run == 1  # the other image is new
    # A different prompt conditions the inversion: a new entry.
    prompted = [Keyframe(keyframes[0].path, prompt="a house"), keyframes[1]]
    third = DiffusionMorpher(tiny_sd, prompted, s, cache=InversionCache(tmp_path))
    third.keyframe_pixels(0)
    assert third.inversions_run == 1
    assert len(list(tmp_path.glob("*.safetensors"))) == 3


def test_a_damaged_cache_entry_is_recomputed(
    tiny_sd: DiffusionModel, pairs_dir: Path, tmp_path: Path
) -> None:
    keyframes = images(pairs_dir)
    reference = DiffusionMorpher(
        tiny_sd, keyframes, settings(), cache=InversionCache(tmp_path)
    ).keyframe_pixels(0)
    for entry in tmp_path.glob("*.safetensors"):
        entry.write_bytes(b"not a safetensors file")
    morpher = DiffusionMorpher(tiny_sd, keyframes, settings(), cache=InversionCache(tmp_path))
    np.testing.assert_array_equal(morpher.keyframe_pixels(0), reference)
    assert morpher.inversions_run == 1


def test_cancel_stops_between_denoising_steps(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    token = CancelToken()
    seen: list[StepInfo] = []

    def on_step(info: StepInfo) -> None:
        seen.append(info)
        if info.label.startswith("t=") and info.step == 2:
            token.cancel()

    frames = render_diffusion_frames(
        images(pairs_dir), tiny_sd, settings(frames=5), cancel=token, on_step=on_step
    )
    got = []
    with pytest.raises(Cancelled):
        for frame in frames:
            got.append(frame)
    assert len(got) == 1  # the first keyframe; the first in-between was cancelled in its 3rd step
    assert seen[-1].label.startswith("t=") and seen[-1].step == 2


def test_guidance_runs_the_unconditional_branch(tiny_sd: DiffusionModel) -> None:
    keyframes = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]
    plain = render(keyframes, tiny_sd, settings(frames=3, guidance=1.0))
    guided = render(keyframes, tiny_sd, settings(frames=3, guidance=7.5))
    assert diff(plain[0], guided[0]) > 0.5


def test_nan_from_half_precision_vae_is_redone_in_float32(tiny_sd_info: ModelInfo, pairs_dir: Path) -> None:
    """bfloat16 on the CPU stands in for CUDA float16; a hook makes the half-precision decoder overflow."""
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"), torch.bfloat16)
    model.vae.register_to_config(force_upcast=False)  # a VAE that claims half precision is fine
    notes: list[str] = []
    model.note = notes.append

    def overflow(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        return torch.full_like(output, float("nan")) if output.dtype == torch.bfloat16 else output

    model.vae.decoder.register_forward_hook(overflow)
    frames = render([PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], model, settings(frames=3))
    assert len(frames) == 3
    assert all(f.std() > 0 for f in frames)  # real pictures, not NaN turned into black
    assert model.float32_retries == 3  # every decode
    assert sum("retrying in float32" in n for n in notes) == 1  # said once


def test_out_of_memory_steps_down_the_ladder(tiny_sd_info: ModelInfo) -> None:
    """A guided batch of 2 'does not fit': the ladder runs uncond and cond one by one instead."""
    keyframes = [PromptKeyframe("a red fox", seed=1), PromptKeyframe("a blue car", seed=2)]
    reference = render(keyframes, DiffusionModel(tiny_sd_info, torch.device("cpu")), settings(frames=3))
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"))
    real_forward = model.unet.forward

    def tight_forward(sample: torch.Tensor, *args: object, **kwargs: object) -> object:
        if sample.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_forward(sample, *args, **kwargs)

    model.unet.forward = tight_forward  # type: ignore[method-assign]
    notes: list[str] = []
    frames = render(keyframes, model, settings(frames=3), note=notes.append)
    assert any("one image per UNet call" in n for n in notes)
    for got, want in zip(frames, reference, strict=True):
        assert diff(got, want) < 1.0  # the same maths, batched differently


def test_even_pacing_evens_the_steps(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    reports: list[PacingReport] = []
    notes: list[str] = []
    frames = list(
        render_diffusion_frames(
            images(pairs_dir, "lion.png", "tiger.png"), tiny_sd, settings(frames=6, pacing="even"),
            pacing_reports=reports, note=notes.append,
        )
    )  # fmt: skip
    assert len(frames) == 6
    ts = [f.spec.t for f in frames]
    assert ts[0] == 0.0 and ts[-1] == 1.0 and ts == sorted(ts)
    assert ts[1:-1] != [0.2, 0.4, 0.6, 0.8]  # re-placed
    (report,) = reports
    assert report.after is not None and report.after <= report.before
    assert any("->" in n and "pacing" in n for n in notes)


def test_nothing_touches_the_network(
    tiny_sd_info: ModelInfo, pairs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"))
    assert (
        len(render([Keyframe(pairs_dir / "cat.png"), PromptKeyframe("x", 1)], model, settings(frames=3))) == 3
    )


def test_denoising_steps_come_with_tae_previews(tiny_sd: DiffusionModel, tmp_path: Path) -> None:
    """A TAE of the same latent space (here a randomly initialised 4-channel TAESD, saved as
    safetensors and loaded through discovery) decodes each step's predicted clean latent."""
    from safetensors.torch import save_file

    from morphapp.models import taesd
    from morphapp.models.discovery import find_model
    from morphapp.models.tae_codec import TaeCodec

    torch.manual_seed(0)
    for kind, build in (("encoder", taesd.build_encoder), ("decoder", taesd.build_decoder)):
        state = {k: v.contiguous() for k, v in build(4, False).state_dict().items()}
        save_file(state, str(tmp_path / f"taesd_{kind}.safetensors"))
    preview = TaeCodec(find_model(str(tmp_path)), torch.device("cpu"))
    steps: list[StepInfo] = []
    keyframes = [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)]
    render(keyframes, tiny_sd, settings(frames=3), on_step=steps.append, preview=preview)
    assert len(steps) == 3 * 4  # three frames of four steps
    assert [s.label for s in steps[::4]] == ["keyframe 1", "keyframe 2", "t=0.500"]
    shapes = {s.preview.shape for s in steps if s.preview is not None}
    assert shapes == {(16 * 8, 16 * 8, 3)}  # the 16x16 latent through TAESD's 8x decoder
    assert diff(steps[0].preview, steps[3].preview) > 0  # type: ignore[arg-type]


def test_a_preview_model_of_another_latent_space_is_switched_off(
    tiny_sd: DiffusionModel, taef2: object
) -> None:
    notes: list[str] = []
    steps: list[StepInfo] = []
    keyframes = [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)]
    render(keyframes, tiny_sd, settings(frames=2), on_step=steps.append, preview=taef2, note=notes.append)
    assert all(s.preview is None for s in steps) and steps
    assert any("another latent space" in n for n in notes)


def test_sdxl_pipelines_morph_with_pooled_text_and_size_conditioning(pairs_dir: Path, tmp_path: Path) -> None:
    """SDXL: two text encoders, a pooled embedding and size/crop ids; its Euler scheduler config is
    read into DDIM's numbers."""
    from morphapp.models.discovery import find_model
    from tests.diffusion.tiny_sd import build_tiny_sdxl

    info = find_model(str(build_tiny_sdxl(tmp_path)))
    assert info.family.startswith("SDXL") and info.is_diffusion
    model = DiffusionModel(info, torch.device("cpu"))
    cond = model.encode_prompt("a cat", SIZE)
    assert cond.embeds.shape[-1] == 64 and cond.pooled is not None and cond.pooled.shape == (1, 32)
    keyframes = [Keyframe(pairs_dir / "cat.png", prompt="a cat"), PromptKeyframe("a dog", seed=3)]
    frames = render(keyframes, model, settings(frames=3, guidance=2.0))
    assert len(frames) == 3 and diff(frames[0], frames[2]) > 1


def test_a_decode_that_does_not_fit_goes_on_to_the_tiled_vae_and_says_so(tiny_sd_info: ModelInfo) -> None:
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"))
    real_decode = model.vae.decode

    def tight_decode(latents: torch.Tensor, *args: object, **kwargs: object) -> object:
        if not model.vae.use_tiling:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_decode(latents, *args, **kwargs)

    model.vae.decode = tight_decode  # type: ignore[method-assign]
    notes: list[str] = []
    frames = render([PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], model, settings(frames=3),
                    note=notes.append)  # fmt: skip
    assert len(frames) == 3 and all(f.std() > 0 for f in frames)
    said = [n for n in notes if "out of GPU memory" in n]
    assert said == [
        "out of GPU memory; continuing with: one image per UNet call",
        "out of GPU memory; continuing with: tiled VAE decode",
    ]


def test_out_of_memory_on_every_rung_is_one_clear_error(tiny_sd_info: ModelInfo) -> None:
    from morphapp.errors import ModelError

    model = DiffusionModel(tiny_sd_info, torch.device("cpu"))

    def never_fits(*_args: object, **_kwargs: object) -> object:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    model.unet.forward = never_fits  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="out of memory even on the CPU"):
        render([PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], model, settings(frames=3))


def test_only_a_few_keyframe_states_are_kept_and_evicted_ones_come_back_the_same(
    tiny_sd: DiffusionModel,
) -> None:
    from morphapp.diffusion.morph import MAX_KEYFRAME_STATES

    keyframes = [PromptKeyframe(f"scene {i}", seed=i) for i in range(6)]
    morpher = DiffusionMorpher(tiny_sd, keyframes, settings(frames=11, steps=2))
    first = morpher.frame(0, 1, 0.5)
    for i in range(1, 5):
        morpher.frame(i, i + 1, 0.5)
        assert len(morpher._states) <= MAX_KEYFRAME_STATES
    assert 0 not in morpher._states  # evicted: its recorded attention is gone
    np.testing.assert_array_equal(morpher.frame(0, 1, 0.5), first)  # re-denoised, identical


def test_a_kept_morpher_serves_a_retimed_render_without_denoising_keyframes_again(
    tiny_sd: DiffusionModel,
) -> None:
    keyframes = [PromptKeyframe("a fox", seed=1), PromptKeyframe("a car", seed=2)]
    morpher = DiffusionMorpher(tiny_sd, keyframes, settings(frames=3))
    render(keyframes, tiny_sd, settings(frames=3), morpher=morpher)
    steps: list[StepInfo] = []
    retimed = settings(frames=5, pacing="even")
    again = render(keyframes, tiny_sd, retimed, morpher=morpher, on_step=steps.append)
    assert steps and not any(s.label.startswith("keyframe") for s in steps)  # states reused
    fresh = render(keyframes, tiny_sd, retimed)
    for a, b in zip(again, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not morpher.reusable_for(tiny_sd, keyframes, MorphSettings(size=(48, 48), frames=5))
    assert not morpher.reusable_for(tiny_sd, keyframes[::-1], settings(frames=5))
