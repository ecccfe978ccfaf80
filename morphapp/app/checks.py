"""Checks of a project against the model chosen for it: one rule, raised the same in both faces."""

from __future__ import annotations

from morphapp.core.domain.settings import MorphSettings
from morphapp.errors import InputError
from morphapp.models.info import ModelInfo


def check_points_fit_model(settings: MorphSettings, info: ModelInfo) -> None:
    """Points drive the autoencoder's shape-aware warps; a diffusion model lines frames up through
    attention and has no use for them. Refused, not dropped: the window used to render such a
    morph without its points and say nothing."""
    if info.is_diffusion and settings.points and any(settings.points):
        raise InputError(
            f"--points / --align: shape-aware warps work with autoencoder (TAE) models only; {info.name} "
            "is a diffusion model: remove the points or choose a TAE model"
        )
