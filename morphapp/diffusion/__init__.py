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

Importing this package changes no process state (no environment variables, no logging or warning
settings). diffusers' and transformers' advice and progress bars are turned off through their own
logging APIs by ``model._quiet_libraries``, just before ``load_pipeline`` reaches for the pipeline
classes, the first place either library prints anything (importing diffusers' scheduler and
attention modules, as ``ddim`` and ``attention`` do, is silent).
"""
