"""The names a morph's settings and the command line choose between, in one torch-free place.

Why a module of its own: the CLI's parser, the window's combo boxes and the settings' validation read
these names, and a refusal of bad input (a text file named .png, an unwritable output) must come
before torch loads (over a second) or any model work. The modules that act on a choice (interpolate,
warp, align, device, models.backend) import their names from here.
"""

from __future__ import annotations

from typing import Literal

PathName = Literal["slerp", "lerp"]
PATH_CHOICES: tuple[str, ...] = ("slerp", "lerp")

WARP_MODES: tuple[str, ...] = ("frame", "pixel", "latent")
DEFAULT_WARP_MODE = "frame"
LEGACY_WARP_MODE = "pixel"  # a project with points but no "warp" key was made with this one

ALIGN_MODES: tuple[str, ...] = ("none", "auto", "faces", "features")

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
DTYPE_CHOICES: tuple[str, ...] = ("auto", "float32", "float16", "bfloat16")

BACKEND_CHOICES: tuple[str, ...] = ("auto", "torch", "onnx")
PRECISION_CHOICES: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
# --dtype names (the older option) -> --precision names.
DTYPE_TO_PRECISION = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}

# How long a machine's backend calibration verdict is trusted (models/backend.py; the CLI's help says it).
CALIBRATION_MAX_AGE_DAYS = 30.0
