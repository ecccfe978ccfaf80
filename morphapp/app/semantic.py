"""Points by meaning: a diffusion model's features (DIFT) for auto-align, loaded one way for both
faces (the CLI's ``--align-model``, the window's Align by meaning)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from morphapp.core.notes import NoteFn
from morphapp.errors import InputError
from morphapp.models.info import ModelInfo

if TYPE_CHECKING:
    import numpy as np

    from morphapp.core.align.guard import AlignResult

SemanticAligner = Callable[["np.ndarray", "np.ndarray"], "AlignResult"]


class SemanticModels:
    """The diffusion model loaded for semantic points, kept between alignments (the window aligns
    again on every drop); one at a time, since each takes gigabytes."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def release(self) -> None:
        self._models.clear()

    def aligner(self, info: ModelInfo, device: str, note: NoteFn) -> SemanticAligner:
        """DIFT correspondences from ``info`` on ``device`` (loaded here, once)."""
        if not info.is_diffusion:
            raise InputError(f"--align-model: {info.name} is not a diffusion model (SD 1.x/2.x/SDXL)")
        from morphapp.core.render.device import resolve_device
        from morphapp.diffusion.features import semantic_align
        from morphapp.diffusion.model import DiffusionModel

        key = f"{info.name} on {device}"
        model = self._models.get(key)
        if model is None:
            self._models.clear()  # free the old one before loading another
            model = self._models[key] = DiffusionModel(info, resolve_device(device), note=note)
        return lambda a, b: semantic_align(model, a, b)
