"""The engine facade: one entry point for autoencoder and diffusion morphs, any frames, any order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import Progress, render_frames
from morphapp.engine import AutoencoderEngine, EngineOptions, open_engine
from morphapp.errors import Cancelled, InputError
from morphapp.models.info import ModelInfo
from morphapp.models.tae_codec import TaeCodec

CPU = torch.device("cpu")
FP32 = EngineOptions(backend="torch", precision="fp32")


def keyframes(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / name) for name in ("cat.png", "dog.png", "lion.png")]


def test_autoencoder_engine_renders_any_frames_in_the_order_asked_as_the_render_loop_does(
    taef2_info: ModelInfo, taef2: TaeCodec, pairs_dir: Path
) -> None:
    notes: list[str] = []
    engine = open_engine(taef2_info, CPU, FP32, note=notes.append)
    assert not engine.is_diffusion and engine.name == "taef2"
    assert any(line.startswith("model taef2 (") for line in notes)
    settings = MorphSettings(size=(64, 64), segment_frames=(4,))
    whole = [f.pixels for f in render_frames(keyframes(pairs_dir), taef2, settings)]
    assert len(whole) == 9
    asked = [7, 0, 3, 8]
    got = list(engine.frames(keyframes(pairs_dir), settings, indices=asked))
    assert [f.index for f in got] == asked
    for frame in got:
        np.testing.assert_array_equal(frame.pixels, whole[frame.index])
    assert engine.resume_key == {"model": taef2.model_id, "device": "cpu", "dtype": "torch.float32"}


def test_autoencoder_engine_prepares_keyframes_once_and_reports_progress(
    taef2: TaeCodec, pairs_dir: Path
) -> None:
    from morphapp.core.render.latent_cache import LatentCache

    engine = AutoencoderEngine(taef2, cache=LatentCache())
    settings = MorphSettings(size=(64, 64), segment_frames=(4,))
    engine.prepare(keyframes(pairs_dir), settings)
    assert len(engine.cache) == 3  # type: ignore[arg-type]
    seen: list[Progress] = []
    frames = list(engine.frames(keyframes(pairs_dir), settings, indices=[1, 2], progress=seen.append))
    assert len(frames) == 2
    assert [(p.done, p.total) for p in seen if p.stage == "decode"] == [(1, 2), (2, 2)]


def test_autoencoder_engine_refuses_prompt_keyframes_and_stops_when_cancelled(
    taef2_info: ModelInfo, pairs_dir: Path
) -> None:
    engine = open_engine(taef2_info, CPU, FP32)
    settings = MorphSettings(size=(64, 64), segment_frames=(4,))
    with pytest.raises(InputError, match="prompt"):
        list(engine.frames([Keyframe(pairs_dir / "cat.png"), PromptKeyframe("a dog")], settings))
    cancel = CancelToken()
    frames = engine.frames(keyframes(pairs_dir), settings, cancel=cancel)
    next(frames)
    cancel.cancel()
    with pytest.raises(Cancelled):
        next(frames)


def test_diffusion_engine_keeps_keyframe_states_between_renders_of_the_same_morph(
    tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    notes: list[str] = []
    engine = open_engine(tiny_sd_info, CPU, note=notes.append)
    assert engine.is_diffusion
    assert "(diffusion)" in engine.describe()
    assert set(engine.resume_key) == {"model", "device", "dtype", "attn_budget"}
    pair = keyframes(pairs_dir)[:2]
    settings = MorphSettings(size=(32, 32), frames=5, diffusion=DiffusionSettings(steps=4))
    steps: list[object] = []
    whole = [f.pixels for f in engine.frames(pair, settings, on_step=steps.append)]
    assert len(whole) == 5 and steps  # every denoising step heard
    first_morpher = engine._morpher  # type: ignore[attr-defined]
    again = list(engine.frames(pair, settings, indices=[4, 2]))
    assert engine._morpher is first_morpher  # type: ignore[attr-defined]  # nothing denoised twice
    np.testing.assert_array_equal(again[0].pixels, whole[4])
    np.testing.assert_array_equal(again[1].pixels, whole[2])
    other = MorphSettings(size=(32, 32), frames=5, diffusion=DiffusionSettings(steps=3))
    list(engine.frames(pair, other, indices=[0]))
    assert engine._morpher is not first_morpher  # type: ignore[attr-defined]  # other steps: new states
