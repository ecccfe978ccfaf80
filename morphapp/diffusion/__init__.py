"""The diffusion backend: morphs through the noise latents of a Stable-Diffusion-class model.

A TAE slerp blends appearance; walking the *noise* of a diffusion model and denoising every frame
makes in-betweens that are one plausible image each (DiffMorpher, AID, FreeMorph). Pieces:

- ``model``       loads a diffusers folder or single-file checkpoint, offline, safetensors only
- ``conditioning`` text embeddings of the keyframes' prompts, and their interpolation
- ``ddim``        the deterministic DDIM schedule: inversion of images to noise and denoising back
- ``attention``   self-attention that records the endpoints' keys/values and mixes them in between
- ``noise``       slerp of two noises with their per-channel statistics interpolated (AdaIN)
- ``morph``       keyframe states (noise, prompt, recorded attention, cached) and one frame at t
- ``pacing``      re-placing t so that neighbouring frames differ evenly
- ``memory``      the CUDA out-of-memory ladder
- ``render``      the frame generator the CLI and the export pipeline consume

Nothing here imports Qt or the CLI.
"""

import os as _os

# diffusers and transformers log advice at import (e.g. that torchvision is missing, which
# morphapp does not need) and show progress bars on every load; the CLI and GUI report progress
# themselves. Set before either library is first imported; a user's own setting wins.
for _name in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
    _os.environ.setdefault(_name, "error")
_os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
