"""``open_engine``: the engine for a model, loaded and described (what the CLI and workers call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from morphapp.core.render.device import describe_device
from morphapp.core.render.frames import NoteFn
from morphapp.engine.autoencoder import AutoencoderEngine
from morphapp.engine.base import DiffusionMorphEngine, MorphEngine
from morphapp.errors import ModelError
from morphapp.models.backend import choose, open_codec
from morphapp.models.info import ModelInfo
from morphapp.models.tae_codec import TaeCodec

if TYPE_CHECKING:
    from morphapp.diffusion.model import DiffusionModel


@dataclass(frozen=True)
class EngineOptions:
    """How to run a model. ``backend``/``precision``: an autoencoder's (``auto``: calibrated, as
    ``models.backend.choose``); ``dtype``: a diffusion model's (None: float16 on CUDA, else float32);
    ``attn_budget``: bytes of recorded attention a diffusion render may keep (None: per device)."""

    backend: str = "auto"
    precision: str = "auto"
    dtype: torch.dtype | None = None
    attn_budget: int | None = None
    batch_size: int = 1  # autoencoder frames decoded per model call
    step_previews: bool = False  # diffusion: picture each denoising step with a TAE of its latent space


def open_engine(
    model: ModelInfo,
    device: torch.device,
    options: EngineOptions | None = None,
    *,
    note: NoteFn | None = None,
) -> MorphEngine:
    """Load ``model`` on ``device`` and say what runs (``note``); autoencoder or diffusion by its family."""
    options = options or EngineOptions()
    say = note or (lambda _line: None)
    if model.is_diffusion:
        return _diffusion_engine(model, device, options, say)
    choice = choose(model, device, options.backend, options.precision, note=say)
    codec = open_codec(model, device, choice, note=say)
    say(f"model {codec.name} ({model.family}) on {describe_device(codec.device)}, {codec.dtype}")
    say(choice.describe())
    return AutoencoderEngine(codec, backend=choice.backend, note=note, batch_size=options.batch_size)


def _diffusion_engine(
    model: ModelInfo, device: torch.device, options: EngineOptions, say: NoteFn
) -> DiffusionMorphEngine:  # (so mypy checks that DiffusionEngine is one)
    # Imported here: diffusers and transformers take seconds to import, and TAE renders never need them.
    try:
        from morphapp.diffusion.cache import InversionCache, default_cache_folder
        from morphapp.diffusion.model import DiffusionModel
        from morphapp.engine.diffusion import DiffusionEngine
    except ImportError as exc:
        raise ModelError(
            f"{model.name} is a {model.family} model: rendering with it needs diffusers and transformers "
            f"({exc.name} is missing); install them with: pip install 'morphapp[diffusion]'"
        ) from exc
    loaded = DiffusionModel(model, device, options.dtype, note=say, attn_budget=options.attn_budget)
    say(f"model {loaded.name} ({model.family}) on {describe_device(device)}, {loaded.dtype}")
    preview = _step_previewer(loaded) if options.step_previews else None
    inversions = InversionCache(default_cache_folder())
    return DiffusionEngine(loaded, inversions=inversions, preview=preview, note=say)


def _step_previewer(model: DiffusionModel) -> TaeCodec | None:
    """The TAE of a diffusion model's latent space (on the CPU), if one is installed."""
    from morphapp.diffusion.preview import preview_model_for

    found = preview_model_for(model.family, model.latent_channels)
    return None if found is None else TaeCodec(found, torch.device("cpu"))
