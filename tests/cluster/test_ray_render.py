"""One render over Ray workers: the very frames of a one-process render, whatever happens to a worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from morphapp.cluster.options import ClusterOptions
from morphapp.cluster.ray_runner import ClusterRender
from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.engine import EngineOptions, open_engine
from morphapp.errors import InputError
from morphapp.models.info import ModelInfo

CPU = torch.device("cpu")
FP32 = EngineOptions(backend="torch", precision="fp32")


def keyframes(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / name) for name in ("cat.png", "dog.png", "lion.png")]


def one_process(info: ModelInfo, options: EngineOptions, kf: list[Keyframe], settings: MorphSettings) -> list:
    return [f.pixels for f in open_engine(info, CPU, options).frames(kf, settings)]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_autoencoder_frames_over_n_workers_are_byte_identical_to_one_process(
    local_ray: Any, taef2_info: ModelInfo, pairs_dir: Path, workers: int
) -> None:
    settings = MorphSettings(size=(96, 96), segment_frames=(5,), loop="pingpong", hold=1)
    want = one_process(taef2_info, FP32, keyframes(pairs_dir), settings)
    notes: list[str] = []
    with ClusterRender(taef2_info, FP32, ClusterOptions(workers=workers, chunk=2), note=notes.append) as c:
        got = list(c.frames(keyframes(pairs_dir), settings))
        assert c.resume_key == open_engine(taef2_info, CPU, FP32).resume_key  # a resume may switch
    assert [f.index for f in got] == list(range(len(want)))
    assert all(np.array_equal(a, f.pixels) for a, f in zip(want, got, strict=True))
    assert notes[0].startswith(f"running on Ray (local instance): {workers} CPU worker")


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_diffusion_frames_over_n_workers_are_byte_identical_to_one_process(
    local_ray: Any, tiny_sd_info: ModelInfo, pairs_dir: Path, workers: int
) -> None:
    settings = MorphSettings(size=(32, 32), frames=5, diffusion=DiffusionSettings(steps=3))
    options = EngineOptions(dtype=torch.float32)
    pair = keyframes(pairs_dir)[:2]
    want = one_process(tiny_sd_info, options, pair, settings)
    with ClusterRender(tiny_sd_info, options, ClusterOptions(workers=workers, chunk=1)) as c:
        got = [f.pixels for f in c.frames(pair, settings, indices=[4, 1, 2])]
        made = local_ray.get([actor.states_made.remote() for actor in c._pool.actors])  # type: ignore[union-attr]
    assert all(np.array_equal(want[i], g) for i, g in zip([4, 1, 2], got, strict=True))
    assert sum(made) == 2  # both keyframe states made once, by the first worker, and shipped


def test_many_keyframes_have_their_states_made_once_in_all_shared_out_over_the_workers(
    local_ray: Any, tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    names = ("cat.png", "dog.png", "lion.png", "tiger.png", "sculp0.png")  # more than a morpher keeps
    five = [Keyframe(pairs_dir / name) for name in names]
    settings = MorphSettings(size=(32, 32), segment_frames=(2,), diffusion=DiffusionSettings(steps=3))
    options = EngineOptions(dtype=torch.float32)
    want = one_process(tiny_sd_info, options, five, settings)
    with ClusterRender(tiny_sd_info, options, ClusterOptions(workers=2, chunk=1)) as c:
        got = [f.pixels for f in c.frames(five, settings)]
        made = local_ray.get([actor.states_made.remote() for actor in c._pool.actors])  # type: ignore[union-attr]
    assert len(got) == len(want) == 9
    assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
    assert sorted(made) == [2, 3]  # each keyframe denoised once, the two workers at the same time


def test_a_worker_killed_mid_render_has_its_frames_made_by_another(
    local_ray: Any, taef2_info: ModelInfo, pairs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from morphapp.cluster import worker

    class Victim(worker.FrameWorker):  # defined here: Ray ships it by value to its workers
        """Once armed, says which chunk it holds (a file) and keeps it until it is killed."""

        armed: str | None = None

        def arm(self, marker: str) -> None:
            self.armed = marker

        def render(self, keyframes: Any, settings: Any, indices: Any, *args: Any) -> Any:
            if self.armed is None:
                return super().render(keyframes, settings, indices, *args)
            Path(self.armed).write_text(",".join(map(str, indices)))
            time.sleep(600)  # mid-chunk until SIGKILL

    monkeypatch.setattr(worker, "FrameWorker", Victim)
    settings = MorphSettings(size=(96, 96), segment_frames=(8,))
    want = one_process(taef2_info, FP32, keyframes(pairs_dir), settings)
    notes: list[str] = []
    marker = tmp_path / "holding"
    with ClusterRender(taef2_info, FP32, ClusterOptions(workers=2, chunk=1), note=notes.append) as c:
        victim = c._pool.actors[1]  # type: ignore[union-attr]
        pid = local_ray.get(victim.pid.remote())
        local_ray.get(victim.arm.remote(str(marker)))
        frames = c.frames(keyframes(pairs_dir), settings)
        # Chunks go out one frame each, alternately, IN_FLIGHT (2) per worker: frame 0 to the
        # other worker, 1 and 3 to the victim, which holds 1 and has 3 queued.
        got = [next(frames)]
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text() == "1"  # the victim is inside chunk 1 now
        os.kill(pid, signal.SIGKILL)
        got += list(frames)
        assert c.resent == 2  # the chunk in hand and the one queued, both sent again
        assert len(c._pool.actors) == 1 and victim not in c._pool.actors  # type: ignore[union-attr]
    assert notes.count("a Ray worker died; its frames go to the 1 left") == 1
    assert [f.index for f in got] == list(range(len(want)))
    assert all(np.array_equal(a, f.pixels) for a, f in zip(want, got, strict=True))


def test_options_and_addresses_are_checked_before_anything_starts() -> None:
    with pytest.raises(InputError, match="--workers 0"):
        ClusterOptions(workers=0).validate()
    with pytest.raises(InputError, match="expected HOST:PORT"):
        from morphapp.cluster.connect import check_reachable

        check_reachable("somewhere")


def test_even_pacing_over_two_workers_gives_the_frames_of_one_process(
    local_ray: Any, tiny_sd_info: ModelInfo, pairs_dir: Path
) -> None:
    settings = MorphSettings(size=(32, 32), frames=6, diffusion=DiffusionSettings(steps=3, pacing="even"))
    options = EngineOptions(dtype=torch.float32)
    pair = keyframes(pairs_dir)[:2]
    want = one_process(tiny_sd_info, options, pair, settings)
    notes: list[str] = []
    with ClusterRender(tiny_sd_info, options, ClusterOptions(workers=2, chunk=2), note=notes.append) as c:
        got = list(c.frames(pair, settings))
        made = local_ray.get([actor.frames_made.remote() for actor in c._pool.actors])  # type: ignore[union-attr]
    assert all(np.array_equal(a, f.pixels) for a, f in zip(want, got, strict=True))
    # The first pass runs once over the cluster (4 in-betweens), then the 4 re-placed ones: as one
    # process does. (Before, every worker touching the segment ran its own first pass.)
    assert sum(made) == 8
    assert any(line.startswith("segment 1 pacing: max/mean step") for line in notes)


def test_a_worker_that_cannot_open_the_model_is_one_clear_error(
    local_ray: Any, taef2_info: ModelInfo
) -> None:
    import dataclasses

    from morphapp.errors import ModelError

    missing = dataclasses.replace(taef2_info, decoder=Path("/nonexistent/taef2.safetensors"))
    with pytest.raises(ModelError) as caught, ClusterRender(missing, FP32, ClusterOptions(workers=1)):
        pass
    assert str(caught.value) == (
        "a Ray worker could not open taef2: /nonexistent/taef2.safetensors: model file not found"
    )
