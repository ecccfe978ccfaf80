"""The Ray actor of a distributed render: one loaded engine, rendering the chunks it is sent.

A plain class: ``ray.remote`` wraps it in ``ray_runner`` (importing this module needs no Ray).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from morphapp.core.device import resolve_device
from morphapp.core.keyframes import AnyKeyframe
from morphapp.core.render import Frame
from morphapp.core.settings import MorphSettings
from morphapp.engine import EngineOptions, MorphEngine, open_engine


class FrameWorker:
    def __init__(self, model: Any, device: str, options: EngineOptions, threads: int) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.engine: MorphEngine = open_engine(model, resolve_device(device), options)
        self._adopted: str | None = None  # the shared state in the engine now (its object id)

    def resume_key(self) -> dict[str, str]:
        return self.engine.resume_key

    def pid(self) -> int:
        return os.getpid()

    def states_made(self) -> int:
        """Diffusion: keyframe states this worker denoised itself (0 when all were adopted)."""
        return int(getattr(self.engine, "states_made", 0))

    def frames_made(self) -> int:
        """Diffusion: in-betweens this worker denoised."""
        return int(getattr(self.engine, "frames_made", 0))

    def shared_state(self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings) -> Any:
        return self.engine.shared_state(keyframes, settings)

    def render(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        indices: Sequence[int],
        shared: list[Any],
        pacing: dict[int, dict[float, float]] | None = None,
    ) -> list[Frame]:
        """``pacing``: even pacing's placed t per segment, measured once by the driver."""
        import ray

        if hasattr(self.engine, "pacing"):
            self.engine.pacing = pacing
        (ref,) = shared  # wrapped in a list so Ray hands over the reference, fetched once per worker
        if ref.hex() != self._adopted:
            self.engine.adopt(ray.get(ref))
            self._adopted = ref.hex()
        return list(self.engine.frames(keyframes, settings, indices=indices))
