"""Shared state between engines (what a distributed worker hands the others): typed per kind of
engine and model, and refused, with a message that says what it got, when it is of another kind
or another model (issue 23, item 3). Before, ``adopt`` took any object and ignored what it did
not expect (or, for an autoencoder, put a diffusion state's parts into its latent cache)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.engine import EngineOptions, open_engine
from morphapp.errors import ModelError
from morphapp.models.info import ModelInfo

CPU = torch.device("cpu")
FP32 = EngineOptions(backend="torch", precision="fp32")
TAE_SETTINGS = MorphSettings(size=(64, 64), segment_frames=(3,))
SD_SETTINGS = MorphSettings(size=(32, 32), frames=4, diffusion=DiffusionSettings(steps=3))


def pair(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]


def test_an_autoencoder_engine_refuses_a_diffusion_engines_keyframe_states(
    taef2_info: ModelInfo, tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    diffusion = open_engine(tiny_sd_info, CPU, EngineOptions(dtype=torch.float32))
    states = diffusion.shared_state(pair(pairs_dir), SD_SETTINGS, indices=[0])
    autoencoder = open_engine(taef2_info, CPU, FP32)
    with pytest.raises(ModelError) as caught:
        autoencoder.adopt(states)
    message = str(caught.value)
    assert "taef2 (autoencoder engine) adopts an autoencoder's keyframe latents" in message
    assert f"got a diffusion model's keyframe states made with {tiny_sd_info.name}:" in message
    assert len(autoencoder.cache) == 0  # type: ignore[attr-defined]  # nothing of it went into the cache


def test_a_diffusion_engine_refuses_an_autoencoders_keyframe_latents(
    taef2_info: ModelInfo, tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    latents = open_engine(taef2_info, CPU, FP32).shared_state(pair(pairs_dir), TAE_SETTINGS)
    diffusion = open_engine(tiny_sd_info, CPU, EngineOptions(dtype=torch.float32))
    with pytest.raises(ModelError) as caught:
        diffusion.adopt(latents)
    message = str(caught.value)
    assert f"{tiny_sd_info.name} (diffusion engine) adopts a diffusion model's keyframe states" in message
    assert "got an autoencoder's keyframe latents made with taef2" in message


def test_anything_else_handed_to_adopt_is_refused_by_name_and_none_is_nothing(
    taef2_info: ModelInfo, pairs_dir: Path
) -> None:
    engine = open_engine(taef2_info, CPU, FP32)
    with pytest.raises(ModelError, match=r"but got a builtins\.dict$"):
        engine.adopt({"key": (), "states": {}})  # type: ignore[arg-type]  # the untyped state of before
    engine.adopt(None)
    assert len(engine.cache) == 0  # type: ignore[attr-defined]


def test_states_made_with_another_model_are_refused(
    taef2_info: ModelInfo, tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    """As a cluster whose machines hold different weights under one model's name would hand over."""
    autoencoder = open_engine(taef2_info, CPU, FP32)
    latents = autoencoder.shared_state(pair(pairs_dir), TAE_SETTINGS)
    other = dataclasses.replace(latents, weights="taef2:0123456789abcdef")
    with pytest.raises(ModelError, match=r"runs taef2:\w+ but got .* made with taef2:0123456789abcdef"):
        open_engine(taef2_info, CPU, FP32).adopt(other)
    diffusion = open_engine(tiny_sd_info, CPU, EngineOptions(dtype=torch.float32))
    states = diffusion.shared_state(pair(pairs_dir), SD_SETTINGS, indices=[1])
    elsewhere = dataclasses.replace(states, weights=f"{tiny_sd_info.name}:0123456789abcdef")
    with pytest.raises(ModelError, match="every worker needs the same model files"):
        diffusion.adopt(elsewhere)


def test_adopted_diffusion_states_make_the_same_frames_without_a_keyframe_denoised(
    tiny_sd_info: ModelInfo, tiny_sd_dir: Path, pairs_dir: Path, tmp_path: Path
) -> None:
    """Also from another machine's copy of the model: the same files, other mtimes (its own
    download), so another ``model_id``, but the same weights."""
    from morphapp.engine import DiffusionMorphEngine, DiffusionState
    from morphapp.models.discovery import find_model

    copy = shutil.copytree(tiny_sd_dir, tmp_path / tiny_sd_dir.name)
    for file in (p for p in copy.rglob("*") if p.is_file()):
        os.utime(file, ns=(1_000_000_000, 1_000_000_000))
    options = EngineOptions(dtype=torch.float32)
    maker = open_engine(tiny_sd_info, CPU, options)
    want = [f.pixels for f in maker.frames(pair(pairs_dir), SD_SETTINGS)]
    taker = open_engine(find_model(str(copy)), CPU, options)
    assert taker.resume_key["model"] != maker.resume_key["model"]  # model_id has the mtimes
    assert isinstance(taker, DiffusionMorphEngine)  # what a distributed worker asks of its engine
    for index in (0, 1):  # one state at a time, as workers hand them over; they add up
        state = maker.shared_state(pair(pairs_dir), SD_SETTINGS, indices=[index])
        assert isinstance(state, DiffusionState) and list(state.states) == [index]
        taker.adopt(state)
    assert all(taker.holds_state(pair(pairs_dir), SD_SETTINGS, k) for k in (0, 1))
    got = [f.pixels for f in taker.frames(pair(pairs_dir), SD_SETTINGS)]
    assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
    assert taker.states_made == 0 and taker.frames_made == 2


def test_an_autoencoder_engine_shares_the_latents_of_the_keyframes_asked(
    taef2_info: ModelInfo, pairs_dir: Path
) -> None:
    from morphapp.engine import AutoencoderState, DiffusionMorphEngine

    engine = open_engine(taef2_info, CPU, FP32)
    assert not isinstance(engine, DiffusionMorphEngine)
    three = [*pair(pairs_dir), Keyframe(pairs_dir / "lion.png")]
    whole = engine.shared_state(three, TAE_SETTINGS)
    some = engine.shared_state(three, TAE_SETTINGS, indices=[2, 0])
    assert isinstance(some, AutoencoderState) and some.weights == whole.weights
    assert len(whole) == 3 and set(some.latents) < set(whole.latents) and len(some) == 2
    fresh = open_engine(taef2_info, CPU, FP32)
    fresh.adopt(whole)
    assert len(fresh.cache) == 3  # type: ignore[attr-defined]
    got = [f.pixels for f in fresh.frames(three, TAE_SETTINGS)]
    assert fresh.cache.misses == 0  # type: ignore[attr-defined]  # every latent was adopted
    want = [f.pixels for f in engine.frames(three, TAE_SETTINGS)]
    assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
