"""Diffusion second pass (issue 14), first fixes: the OOM ladder's CPU rung moves the conditioning
too, SDXL's unconditional branch is zeros, a force_upcast VAE runs in float32 from the start, and
exports make no per-step previews."""

from __future__ import annotations

from pathlib import Path

import torch

from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher
from morphapp.models.discovery import find_model
from morphapp.models.info import ModelInfo
from tests.diffusion.test_morph import render, settings


def test_the_cpu_rung_retries_with_conditioning_made_for_the_old_device(
    tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    """Stand-in for a GPU in float16: the model is loaded in float64, and the UNet "does not fit"
    until the ladder's last rung has moved it to the CPU in float32. Conditioning prepared before
    the move (the image keyframe's, made by ``prepare``) must follow it."""
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"), torch.float64)
    real_forward = model.unet.forward

    def fits_only_in_float32(sample: torch.Tensor, *args: object, **kwargs: object) -> object:
        if sample.dtype != torch.float32:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_forward(sample, *args, **kwargs)

    model.unet.forward = fits_only_in_float32  # type: ignore[method-assign]
    notes: list[str] = []
    keyframes = [Keyframe(pairs_dir / "cat.png"), PromptKeyframe("a dog", seed=3)]
    frames = render(keyframes, model, settings(frames=3, guidance=2.0), note=notes.append)
    assert len(frames) == 3 and all(f.std() > 0 for f in frames)
    assert "out of GPU memory; continuing with: CPU (float32)" in notes
    assert model.dtype == torch.float32


def test_sdxl_conditions_no_prompt_on_zeros(tmp_path: Path) -> None:
    from tests.diffusion.tiny_sd import build_tiny_sdxl

    model = DiffusionModel(find_model(str(build_tiny_sdxl(tmp_path))), torch.device("cpu"))
    assert model.zero_uncond
    morpher = DiffusionMorpher(model, [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], settings())
    uncond = morpher._unconditional()
    assert uncond.embeds.abs().max() == 0 and uncond.pooled is not None and uncond.pooled.abs().max() == 0
    assert model.encode_prompt("", (32, 32)).embeds.abs().max() > 0  # what was used before: not zeros


def test_sd_keeps_the_empty_prompt_embedding(tiny_sd: DiffusionModel) -> None:
    assert not tiny_sd.zero_uncond
    morpher = DiffusionMorpher(
        tiny_sd, [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], settings()
    )
    assert torch.equal(morpher._unconditional().embeds, tiny_sd.encode_prompt("", (32, 32)).embeds)


def test_a_force_upcast_vae_never_runs_in_half_precision(tiny_sd_info: ModelInfo) -> None:
    model = DiffusionModel(tiny_sd_info, torch.device("cpu"), torch.bfloat16)
    model.vae.register_to_config(force_upcast=True)  # (diffusers' AutoencoderKL default, as SD 1.5's)
    seen: list[torch.dtype] = []  # the dtype of every VAE decoder call (the float32 copy keeps the hook)
    model.vae.decoder.register_forward_hook(lambda _m, args, _out: seen.append(args[0].dtype))
    notes: list[str] = []
    model.note = notes.append
    frames = render([PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2)], model, settings(frames=3))
    assert len(frames) == 3 and all(f.std() > 0 for f in frames)
    assert seen and set(seen) == {torch.float32}  # never a bfloat16 attempt first
    assert model.float32_retries == 0
    assert sum("force_upcast" in n for n in notes) == 1


def test_exports_make_no_step_previews(qtbot, tiny_sd_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from morphapp.gui.engine_worker import EngineWorker, ModelChoice

    worker = EngineWorker()
    steps: list[object] = []
    worker.step_ready.connect(lambda *args: steps.append(args))
    keyframes = (PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2))
    choice = ModelChoice(str(tiny_sd_dir), "cpu")
    exported = list(worker.frames(choice, keyframes, settings(frames=3), step_previews=False))
    assert len(exported) == 3 and steps == []
    previewed = list(worker.frames(choice, keyframes, settings(frames=4)))
    assert len(previewed) == 4 and steps  # the window's previews still report every step


def test_an_image_keyframe_stays_itself_when_a_prompt_and_guidance_join(
    tiny_sd: DiffusionModel, pairs_dir: Path
) -> None:
    """The cat's own frame is the same whether it morphs to a dog photo (no guidance) or to a
    prompt with guidance 7.5: it is denoised with the guidance it was inverted with."""
    cat = Keyframe(pairs_dir / "cat.png")
    alone = render([cat, Keyframe(pairs_dir / "dog.png")], tiny_sd, settings(frames=3))
    with_prompt = render([cat, PromptKeyframe("a dog", seed=3)], tiny_sd, settings(frames=5, guidance=7.5))
    assert (with_prompt[0] == alone[0]).all()
    # The prompt's end is guided, so the in-betweens differ from an unguided morph to it...
    unguided = render([cat, PromptKeyframe("a dog", seed=3)], tiny_sd, settings(frames=5, guidance=1.0))
    assert (with_prompt[-1] != unguided[-1]).any()
    # ...and they move away from the cat step by step (how smoothly: not judged on random weights).
    steps = [float(abs(f.astype(float) - with_prompt[0]).mean()) for f in with_prompt]
    assert steps == sorted(steps)


def test_pingpong_denoises_each_in_between_once(tiny_sd: DiffusionModel) -> None:
    from morphapp.core.domain.settings import MorphSettings
    from morphapp.diffusion.render import render_diffusion_frames
    from tests.diffusion.test_morph import SIZE

    keyframes = [PromptKeyframe("a", seed=1), PromptKeyframe("b", seed=2), PromptKeyframe("c", seed=3)]
    base = settings()
    pingpong = MorphSettings(size=SIZE, segment_frames=(4,), loop="pingpong", diffusion=base.diffusion)
    morpher = DiffusionMorpher(tiny_sd, keyframes, pingpong)
    calls: list[tuple[int, int, float]] = []
    real_frame = morpher._frame

    def counting(a: int, b: int, t: float):  # type: ignore[no-untyped-def]
        calls.append((a, b, t))
        return real_frame(a, b, t)

    morpher._frame = counting  # type: ignore[method-assign]
    frames = list(render_diffusion_frames(keyframes, tiny_sd, pingpong, morpher=morpher))
    in_betweens = [f for f in frames if f.spec.keyframe is None]
    assert len(in_betweens) == 12 and len(calls) == 6  # there and back, made once
    assert len(set(calls)) == len(calls)
    by_spec: dict[tuple[int, int, float], bytes] = {}
    for f in in_betweens:  # the way back shows the very frames of the way there
        by_spec.setdefault((f.spec.a, f.spec.b, f.spec.t), f.pixels.tobytes())
        assert by_spec[(f.spec.a, f.spec.b, f.spec.t)] == f.pixels.tobytes()
