"""The Ray actor of a distributed render: one loaded engine, rendering the chunks it is sent.

A plain class: ``ray.remote`` wraps it in ``ray_runner`` (importing this module needs no Ray).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.device import resolve_device
from morphapp.core.render.frames import Frame
from morphapp.engine import (
    DiffusionMorphEngine,
    DiffusionState,
    EngineOptions,
    MorphEngine,
    SharedState,
    open_engine,
)

if TYPE_CHECKING:
    from morphapp.models.info import ModelInfo


class FrameWorker:
    def __init__(self, model: ModelInfo, device: str, options: EngineOptions, threads: int) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.engine: MorphEngine = open_engine(model, resolve_device(device), options)
        # A diffusion engine's keyframe states go one by one, and its pacing comes from the driver.
        self.diffusion = self.engine if isinstance(self.engine, DiffusionMorphEngine) else None
        self._adopted: str | None = None  # the shared state in the engine now (its object id)

    def resume_key(self) -> dict[str, str]:
        return self.engine.resume_key

    def pid(self) -> int:
        return os.getpid()

    def states_made(self) -> int:
        """Diffusion: keyframe states this worker denoised itself (0 when all were adopted)."""
        return 0 if self.diffusion is None else self.diffusion.states_made

    def frames_made(self) -> int:
        """Diffusion: in-betweens this worker denoised."""
        return 0 if self.diffusion is None else self.diffusion.frames_made

    def shared_state(self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings) -> SharedState:
        return self.engine.shared_state(keyframes, settings)

    def keyframe_states(
        self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings, indices: Sequence[int]
    ) -> tuple[DiffusionState | str, ...]:
        """Diffusion: the states of keyframes ``indices``, one object each (Ray's ``num_returns``
        gives each its own reference, so a worker later fetches only the ones its frames need),
        then a small "done" the driver waits on without fetching any state."""
        if self.diffusion is None:
            raise TypeError(f"{self.engine.name}: an autoencoder's keyframe latents go whole (shared_state)")
        states = self.diffusion.shared_state(keyframes, settings, indices=indices)
        parts = [dataclasses.replace(states, states={i: states.states[i]}) for i in indices]
        return (*parts, "done")

    def render(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        indices: Sequence[int],
        shared: list[Any],
        pacing: dict[int, dict[float, float]] | None = None,
    ) -> list[Frame]:
        """``pacing``: even pacing's placed t per segment, measured once by the driver.
        ``shared``: Ray references (wrapped in a list so Ray hands over the references, not their
        objects): to the keyframe latents (autoencoder), or one per keyframe state by index
        (diffusion)."""
        import ray

        (payload,) = shared
        if self.diffusion is not None:  # one reference per keyframe state
            from morphapp.core.render.frames import plan_for

            self.diffusion.pacing = pacing
            plan = plan_for(settings, len(keyframes))
            needed = sorted({k for i in indices for k in (plan[i].a, plan[i].b)})
            missing = [k for k in needed if not self.diffusion.holds_state(keyframes, settings, k)]
            for state in ray.get([payload[k] for k in missing]):  # this chunk's, fetched once each
                self.diffusion.adopt(state)
        elif payload.hex() != self._adopted:  # autoencoder: the keyframe latents, once per worker
            self.engine.adopt(ray.get(payload))
            self._adopted = payload.hex()
        return list(self.engine.frames(keyframes, settings, indices=indices))
