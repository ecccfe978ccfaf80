"""Pick the torch device and weight dtype: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch

from morphapp.core.domain.choices import DEVICE_CHOICES, DTYPE_CHOICES
from morphapp.errors import InputError


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a user's device choice into a usable device, or a clear error."""
    name = name.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                "--device cuda: no CUDA GPU is available to PyTorch here; use --device auto or cpu"
            )
        return torch.device("cuda")
    if name == "mps":
        if not _mps_available():
            raise InputError("--device mps: Apple MPS is not available here; use --device auto or cpu")
        return torch.device("mps")
    raise InputError(f"--device {name}: unknown device; choose one of {', '.join(DEVICE_CHOICES)}")


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """Weight dtype for the model. Path math is always float64 whatever this says."""
    name = name.lower()
    if name == "auto":
        # Half precision is fast and safe on GPUs; CPUs get float32 (fp16 conv is slow there).
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if name not in table:
        raise InputError(f"--dtype {name}: unknown dtype; choose one of {', '.join(DTYPE_CHOICES)}")
    return table[name]


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
