"""The one entry point every face of morphapp renders through (CLI, window, distributed runner).

A ``MorphEngine`` is a loaded model (an autoencoder codec or a diffusion model) with the state
worth keeping between renders (keyframe latents, inversions, recorded attention). Given keyframes
and settings it renders any list of frame indices as a generator of ``core.render.Frame``, with
progress and a cancel token. ``open_engine`` picks and loads the right one for a model.
"""

from morphapp.engine.autoencoder import AutoencoderEngine
from morphapp.engine.base import MorphEngine, StepFn
from morphapp.engine.open import EngineOptions, open_engine

__all__ = ["AutoencoderEngine", "EngineOptions", "MorphEngine", "StepFn", "open_engine"]
