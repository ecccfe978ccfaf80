"""The one entry point every face of morphapp renders through (CLI, window, distributed runner).

A ``MorphEngine`` is a loaded model (an autoencoder codec or a diffusion model) with the state
worth keeping between renders (keyframe latents, inversions, recorded attention). Given keyframes
and settings it renders any list of frame indices as a generator of ``core.render.frames.Frame``, with
progress and a cancel token. ``open_engine`` picks and loads the right one for a model.
``FrameRenderer`` is the part of it that a distributed render (``morphapp.cluster``) offers too:
what an export needs. ``engine.base`` has the protocols and the typed shared states.
"""

from morphapp.engine.autoencoder import AutoencoderEngine
from morphapp.engine.base import (
    AutoencoderState,
    DiffusionMorphEngine,
    DiffusionState,
    FrameRenderer,
    MorphEngine,
    SharedState,
    StepFn,
)
from morphapp.engine.open import EngineOptions, open_engine

__all__ = [
    "AutoencoderEngine",
    "AutoencoderState",
    "DiffusionMorphEngine",
    "DiffusionState",
    "EngineOptions",
    "FrameRenderer",
    "MorphEngine",
    "SharedState",
    "StepFn",
    "open_engine",
]
