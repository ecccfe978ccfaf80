"""Safe loading of model weights: safetensors, or pickles through ``weights_only=True``.

Model files come from the internet and a pickle can carry code. We never unpickle anything
but tensors: ``torch.load(..., weights_only=True)`` refuses any other object, and the
refusal is reported as a ``ModelError`` instead of being retried unsafely.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from pathlib import Path

import torch

from morphapp.errors import ModelError
from morphapp.models.safetensors_check import read_header

StateDict = dict[str, torch.Tensor]

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)
WEIGHT_SUFFIXES = PICKLE_SUFFIXES + SAFETENSORS_SUFFIXES


def sniff_format(path: Path) -> str:
    """Tell the weight format from the file's first bytes, not its extension."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 8:
        raise ModelError(f"{path}: file is too small to be a model ({len(head)} bytes)")
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip"  # torch.save's default zip container
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pickle"  # legacy torch.save / raw pickle protocol 2-5
    header_len = int.from_bytes(head[:8], "little")
    if 2 <= header_len < 100_000_000 and head[8:9] == b"{":
        return "safetensors"
    raise ModelError(f"{path}: not a weights file (expected .safetensors or a PyTorch .pth)")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a model file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def load_state_dict(path: Path | str) -> StateDict:
    """Load a flat name -> tensor mapping on the CPU, refusing anything that is not plain tensors."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    kind = sniff_format(path)
    state = _load_safetensors(path) if kind == "safetensors" else load_torch_file(path)
    state = as_state_dict(state, path)
    if not state:
        raise ModelError(f"{path}: contains no tensors")
    return state


def _load_safetensors(path: Path) -> StateDict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    read_header(path)  # our own checks first: a lying header never reaches the mapping code
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: damaged safetensors file ({exc})") from exc


def load_torch_file(path: Path) -> StateDict:
    try:
        # A file object, not the path: recent torch dispatches on the file name's extension.
        with open(path, "rb") as fh:
            return torch.load(fh, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refused a non-tensor object: it may run code; we never retry unsafely.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"{path}: refused to load: the file holds Python objects besides tensors, which could run "
            f"code ({message}). Convert it to .safetensors from a trusted source."
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path}: damaged or truncated model file ({exc})") from exc


def as_state_dict(obj: object, path: Path) -> StateDict:
    """Accept a plain state dict, or one nested under a 'state_dict' key (common in checkpoints)."""
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise ModelError(f"{path}: not a state dict of named tensors")
    return obj
