"""A TAE-family model run by ONNX Runtime, as a ``LatentCodec``.

The torch networks are exported once (legacy TorchScript exporter: torch 2.13's default dynamo
exporter needs the separate ``onnxscript`` package; the TorchScript one needs nothing and gives
the same graph for these plain conv stacks) with dynamic batch, height and width, into a cache
folder keyed by the weights' hash, the opset, the onnxruntime and torch versions and the shape
policy, so any change to one of them exports afresh and nothing stale is ever run. Files are
written atomically: a killed export leaves no half file that a later run would load.

ONNX Runtime is an optional dependency (``pip install morphapp[onnx]``); importing this module
without it is fine, constructing an ``OnnxCodec`` raises ``ModelError``.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import logging
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import torch
from torch import nn

from morphapp.core.atomic import atomic_path
from morphapp.errors import ModelError
from morphapp.models import taesd
from morphapp.models.discovery import ModelInfo
from morphapp.models.tae_codec import TaeCodec

_log = logging.getLogger(__name__)

OPSET = 17
SHAPES_POLICY = "dynamic-bhw"  # batch, height and width are free in the exported graphs
_CACHE_FORMAT = 1  # bump when the export itself changes (names, axes, wrapping)
_INPUT = {"encoder": "images", "decoder": "latents"}
_OUTPUT = {"encoder": "latents", "decoder": "images"}


def onnxruntime_available() -> bool:
    """The ONNX backend needs onnxruntime to run and the ``onnx`` package for torch's exporter."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("morphapp", appauthor=False)) / "onnx"


def cpu_threads() -> int:
    """Cores this process may use (the affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class OnnxCodec:
    """ONNX Runtime encode/decode of a TAE model; float32 only (fp16 ORT on CPUs is slow)."""

    downscale = taesd.DOWNSCALE
    dtype = torch.float32

    def __init__(
        self,
        info: ModelInfo,
        device: torch.device | None = None,
        *,
        cache_dir: Path | None = None,
        threads: int | None = None,
        note: Callable[[str], None] | None = None,
        source: TaeCodec | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(
                "the ONNX backend needs onnxruntime: pip install 'morphapp[onnx]' (or use --backend torch)"
            ) from exc
        self._ort = ort
        self.info = info
        self.name = info.name
        self.note = note
        # The float32 torch codec is the source of truth: its weights hash names the cache entry.
        torch_codec = source if source is not None and source.dtype == torch.float32 else None
        torch_codec = torch_codec or TaeCodec(info, torch.device("cpu"), torch.float32, note=note)
        self.latent_channels = torch_codec.latent_channels
        self.model_id = torch_codec.model_id
        self.folder = (cache_dir or default_cache_dir()) / _entry_name(info.name, self._cache_key(ort))
        self.exported: list[str] = []  # halves exported by this construction (tests: cache used once)
        nets = {"encoder": torch_codec._encoder, "decoder": torch_codec._decoder}
        self.providers = self._providers(device)
        self._sessions: dict[str, Any] = {}
        for half, net in nets.items():
            if net is None:
                continue
            path = self.folder / f"{half}.onnx"
            if not path.is_file():
                self._export(half, net, path)
                self.exported.append(half)
            self._sessions[half] = self._session(path, threads or cpu_threads())
        used = self._sessions["decoder"].get_providers()
        self.device = torch.device("cuda" if "CUDAExecutionProvider" in used else "cpu")
        if "CUDAExecutionProvider" in self.providers and self.device.type != "cuda":
            self._say("onnxruntime could not start its CUDA provider; the ONNX backend runs on the CPU")

    # -- LatentCodec ------------------------------------------------------------------------

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        if "encoder" not in self._sessions:
            raise ModelError(f"{self.name}: has no encoder weights, so it cannot turn images into latents")
        height, width = images.shape[-2:]
        if height % self.downscale or width % self.downscale:
            raise ValueError(f"image size {width}x{height} is not a multiple of {self.downscale}")
        return self._run("encoder", images)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self._run("decoder", latents).clamp_(0.0, 1.0)

    # -- internals --------------------------------------------------------------------------

    def _run(self, half: str, batch: torch.Tensor) -> torch.Tensor:
        feed = np.ascontiguousarray(batch.detach().to("cpu", torch.float32).numpy())
        (out,) = self._sessions[half].run([_OUTPUT[half]], {_INPUT[half]: feed})
        result = torch.from_numpy(out)
        if not bool(torch.isfinite(result).all()):
            what = "encode" if half == "encoder" else "decode"
            raise ModelError(
                f"{self.name}: {what} produced NaN/Inf in float32 (ONNX); the model file may be damaged "
                "(re-download it) or the input is extreme"
            )
        return result

    def _cache_key(self, ort: Any) -> str:
        key = {
            "model_id": self.model_id,
            "opset": OPSET,
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
            "shapes": SHAPES_POLICY,
            "format": _CACHE_FORMAT,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def _providers(self, device: torch.device | None) -> list[str]:
        available = self._ort.get_available_providers()
        wants_gpu = device is not None and device.type == "cuda"
        if wants_gpu and "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if wants_gpu:
            self._say("this onnxruntime has no CUDA provider (onnxruntime-gpu has); ONNX runs on the CPU")
        return ["CPUExecutionProvider"]

    def _session(self, path: Path, threads: int) -> Any:
        ort = self._ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no provider/optimizer chatter on stderr
        # No arena or memory pattern: with free height/width they keep every size's peak buffers
        # alive; off, a 512² decode peaks ~200 MiB lower at the same speed (one noisy measurement).
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        try:
            return ort.InferenceSession(str(path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own classes, none shared
            raise ModelError(f"{path}: onnxruntime cannot load this export ({exc}); delete it") from exc

    def _export(self, half: str, net: nn.Module, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # torch's stubs for Module.to lack memory_format, which it takes at runtime.
        plain = copy.deepcopy(net).to(  # type: ignore[call-overload]
            "cpu", torch.float32, memory_format=torch.contiguous_format
        )
        channels = 3 if half == "encoder" else self.latent_channels
        side = 64 if half == "encoder" else 8
        example = torch.zeros(1, channels, side, side)
        axes = {0: "batch", 2: "height", 3: "width"}
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            try:
                torch.onnx.export(
                    plain, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                    input_names=[_INPUT[half]], output_names=[_OUTPUT[half]],
                    dynamic_axes={_INPUT[half]: axes, _OUTPUT[half]: axes},
                )  # fmt: skip
            except Exception as exc:  # the exporter raises many types; the user needs one message
                raise ModelError(
                    f"{self.name}: could not export the {half} to ONNX ({exc}); use --backend torch"
                ) from exc
        _log.info("exported %s %s to %s", self.name, half, path)

    def _say(self, message: str) -> None:
        if self.note is not None:
            self.note(message)
        else:
            _log.warning("%s", message)


def _entry_name(name: str, key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "model"
    return f"{safe}-{key}"
