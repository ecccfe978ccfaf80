"""Choose how a TAE model runs: backend (torch / ONNX Runtime) and precision (fp32 / bf16 / fp16).

``auto`` picks the fastest *correct* combination for the device from a short calibration: encode
and decode of a synthetic 256² image (gradients and noise, like a photo's spectrum) by every
candidate. A half-precision candidate counts only if its round trip stays within
``MIN_PSNR_DB`` of the float32 one. The verdict is cached per machine, device, model and library
versions (JSON in the user cache folder, written atomically) and per process, so calibration
runs once per machine, not once per render. A cached verdict is trusted for ``MAX_AGE_DAYS`` (one
taken while other work loaded the machine could otherwise lock in a wrong choice for good);
``morphapp models calibrate`` (``choose(..., recalibrate=True)``) measures again now.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import torch

from morphapp.core.atomic import atomic_write_text
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.choices import BACKEND_CHOICES, CALIBRATION_MAX_AGE_DAYS, PRECISION_CHOICES
from morphapp.core.notes import NoteFn
from morphapp.core.render.codec import LatentCodec
from morphapp.errors import InputError, MorphError, OutputError
from morphapp.models.discovery import ModelInfo
from morphapp.models.tae_codec import TaeCodec

_log = logging.getLogger(__name__)

PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MIN_PSNR_DB = 40.0
CALIBRATION_SIZE = 256
# Within this fraction of the fastest, a more precise candidate wins: timings on a busy machine
# wobble by a few per cent and float32 costs nothing in quality.
_TIE = 0.05
_CACHE_VERSION = 1
# A cached verdict older than this (or stamped in the future, or unstamped) is measured again.
MAX_AGE_DAYS = CALIBRATION_MAX_AGE_DAYS
_memory: dict[str, Choice] = {}  # this process's verdicts, by cache key


@dataclass(frozen=True)
class Choice:
    backend: str  # "torch" or "onnx"
    precision: str  # "fp32", "bf16" or "fp16"
    how: str  # "asked", "calibrated" (just now) or "cached" (an earlier calibration)
    # Calibration results per candidate "backend precision": decode ms, encode ms, PSNR dB vs fp32.
    measured: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def dtype(self) -> torch.dtype:
        return PRECISION_DTYPES[self.precision]

    @property
    def label(self) -> str:
        return f"{self.backend} {self.precision}"

    def describe(self) -> str:
        """One line for the CLI's notes and the GUI's status: what runs, and why."""
        if self.how == "asked" or not self.measured:
            return f"backend {self.label}"
        parts = []
        for label, m in self.measured.items():
            quality = "" if label.endswith("fp32") else f", {m['psnr_db']:.0f} dB"
            rejected = "" if m["psnr_db"] >= MIN_PSNR_DB else " (rejected: below 40 dB)"
            parts.append(f"{label} {m['decode_ms']:.0f} ms{quality}{rejected}")
        when = "calibrated now" if self.how == "calibrated" else "calibration cached"
        size = f"{CALIBRATION_SIZE}²"
        return f"backend {self.label} (auto, fastest correct; decode {size}: {'; '.join(parts)}; {when})"


def candidates(device: torch.device, backend: str = "auto", precision: str = "auto") -> list[tuple[str, str]]:
    """(backend, precision) pairs worth trying on ``device`` within the user's constraints."""
    if backend not in BACKEND_CHOICES:
        raise InputError(f"--backend {backend}: unknown; choose one of {', '.join(BACKEND_CHOICES)}")
    if precision not in PRECISION_CHOICES:
        raise InputError(f"--precision {precision}: unknown; choose one of {', '.join(PRECISION_CHOICES)}")
    if backend == "onnx" and precision not in ("auto", "fp32"):
        raise InputError(f"--backend onnx runs in fp32 only, not {precision}; use --backend torch for it")
    if backend == "onnx" and not _onnxruntime_available():
        raise InputError("--backend onnx needs onnxruntime and onnx: pip install 'morphapp[onnx]'")
    found: list[tuple[str, str]] = []
    if backend in ("auto", "torch"):
        found += [("torch", p) for p in (_torch_precisions(device) if precision == "auto" else [precision])]
    onnx_wanted = backend == "onnx" or (backend == "auto" and _onnx_worth_trying(device))
    if precision in ("auto", "fp32") and onnx_wanted:
        found.append(("onnx", "fp32"))
    return found


def choose(
    info: ModelInfo,
    device: torch.device,
    backend: str = "auto",
    precision: str = "auto",
    *,
    note: NoteFn | None = None,
    cache_path: Path | None = None,
    recalibrate: bool = False,
    cancel: CancelToken | None = None,
) -> Choice:
    """The backend and precision to use; calibrates (once per machine) when more than one fits.

    ``recalibrate`` measures again even when a verdict is cached (and replaces it). ``cancel``
    stops a calibration between candidates (Cancelled; nothing is cached).
    """
    options = candidates(device, backend, precision)
    if len(options) == 1:
        return Choice(*options[0], how="asked")
    reference = TaeCodec(info, device, torch.float32, note=note)
    key = _cache_key(reference.model_id, device, options)
    if key in _memory and not recalibrate:
        return _memory[key]
    path = cache_path or default_cache_path()
    stored = None if recalibrate else _read_cache(path).get(key)
    if stored is not None:
        choice = _fresh_entry(stored, options)
        if choice is not None:
            _memory[key] = choice
            return choice
        if note is not None:
            note(f"the cached backend calibration for {info.name} is stale (kept {MAX_AGE_DAYS:.0f} days)")
    if note is not None:
        again = "again, as asked" if recalibrate else "once; cached"
        note(f"calibrating backends for {info.name} on this machine ({again})")
    measured = calibrate(info, device, options, reference, cancel=cancel)
    choice = _pick(options, measured)
    _memory[key] = choice
    _write_cache(path, key, choice)
    return choice


def cached_choice(
    info: ModelInfo,
    device: torch.device,
    backend: str = "auto",
    precision: str = "auto",
    *,
    model_id: str | None = None,
    cache_path: Path | None = None,
) -> Choice | None:
    """The verdict ``choose`` would return without calibrating, or None if it would calibrate.

    For callers that must not wait (the GUI's first preview): a single candidate is "asked", a
    fresh cached verdict is "cached", anything else is None. ``model_id`` (a codec's) saves
    loading the weights again to hash them.
    """
    options = candidates(device, backend, precision)
    if len(options) == 1:
        return Choice(*options[0], how="asked")
    if model_id is None:
        model_id = TaeCodec(info, device, torch.float32).model_id
    key = _cache_key(model_id, device, options)
    if key in _memory:
        return _memory[key]
    stored = _read_cache(cache_path or default_cache_path()).get(key)
    choice = None if stored is None else _fresh_entry(stored, options)
    if choice is not None:
        _memory[key] = choice
    return choice


def open_codec(
    info: ModelInfo, device: torch.device, choice: Choice, *, note: NoteFn | None = None
) -> LatentCodec:
    if choice.backend == "onnx":
        from morphapp.models.onnx_codec import OnnxCodec

        return OnnxCodec(info, device, note=note)
    return TaeCodec(info, device, choice.dtype, note=note)


# -- calibration ------------------------------------------------------------------------------


def calibration_image(size: int | None = None) -> torch.Tensor:
    """(1, 3, size, size) in [0, 1]: smooth colour gradients plus fine noise, deterministic."""
    size = size or CALIBRATION_SIZE
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(ramp, ramp, indexing="ij")
    base = np.stack([xx, yy, 0.5 + 0.4 * np.sin(6.0 * (xx + yy))])
    noise = rng.normal(0.0, 0.08, (3, size, size)).astype(np.float32)
    return torch.from_numpy(np.clip(base + noise, 0.0, 1.0))[None]


def calibrate(
    info: ModelInfo,
    device: torch.device,
    options: list[tuple[str, str]],
    reference: TaeCodec,
    *,
    repeats: int = 1,
    cancel: CancelToken | None = None,
) -> dict[str, dict[str, float]]:
    """Decode/encode ms (best of ``repeats`` after a warm-up) and round-trip PSNR vs fp32 per option.

    One timed run after the warm-up keeps calibration to about 2 s on a quiet 2-core CPU.
    """
    image = calibration_image()
    with torch.inference_mode():
        expected = reference.decode(reference.encode(image))
    results: dict[str, dict[str, float]] = {}
    for backend, precision in options:
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            codec: LatentCodec = (
                reference
                if (backend, precision) == ("torch", "fp32")
                else open_codec(info, device, Choice(backend, precision, "asked"), note=lambda _: None)
            )
        except MorphError as exc:  # a candidate that cannot start is simply not chosen
            _log.warning("calibration skips %s %s: %s", backend, precision, exc)
            results[f"{backend} {precision}"] = {"decode_ms": math.inf, "encode_ms": math.inf, "psnr_db": 0.0}
            continue
        with torch.inference_mode():
            latent = codec.encode(image)  # warm-up: first calls allocate and pick kernels
            got = codec.decode(latent)
            encode_ms, decode_ms = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                latent = codec.encode(image)
                mid = time.perf_counter()
                got = codec.decode(latent)
                encode_ms.append((mid - start) * 1000)
                decode_ms.append((time.perf_counter() - mid) * 1000)
        results[f"{backend} {precision}"] = {
            "decode_ms": min(decode_ms),
            "encode_ms": min(encode_ms),
            "psnr_db": psnr_db(got, expected),
        }
        del codec
    return results


def psnr_db(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(torch.mean((a.double() - b.double()) ** 2))
    return 99.0 if mse <= 1e-10 else min(99.0, 10.0 * math.log10(1.0 / mse))


def _pick(options: list[tuple[str, str]], measured: dict[str, dict[str, float]]) -> Choice:
    def cost(m: dict[str, float]) -> float:
        # Frames are decoded many times, keyframes encoded once each: decode dominates a render.
        return m["decode_ms"] + 0.1 * m["encode_ms"]

    ok = [o for o in options if measured[f"{o[0]} {o[1]}"]["psnr_db"] >= MIN_PSNR_DB]
    ok = ok or [o for o in options if o[1] == "fp32"] or options
    fastest = min(cost(measured[f"{b} {p}"]) for b, p in ok)
    rank = {"fp32": 0, "bf16": 1, "fp16": 2}
    near = [o for o in ok if cost(measured[f"{o[0]} {o[1]}"]) <= fastest * (1 + _TIE)]
    best = min(near, key=lambda o: (rank[o[1]], cost(measured[f"{o[0]} {o[1]}"])))
    return Choice(*best, how="calibrated", measured=measured)


def _torch_precisions(device: torch.device) -> list[str]:
    if device.type == "cuda":
        return ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])
    if device.type == "mps":
        return ["fp32", "fp16"]
    # CPUs: fp16 convolutions are emulated and slow; bf16 is fast only with native support.
    return ["fp32", "bf16"] if _cpu_has_fast_bf16() else ["fp32"]


def _cpu_has_fast_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _onnxruntime_available() -> bool:
    from morphapp.models.onnx_codec import onnxruntime_available

    return onnxruntime_available()


def _onnx_worth_trying(device: torch.device) -> bool:
    if not _onnxruntime_available():
        return False
    if device.type == "cpu":
        return True
    import onnxruntime

    # On a GPU, ONNX is a candidate only with its CUDA provider; on the CPU it could never win.
    return device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers()


# -- the cache --------------------------------------------------------------------------------


def default_cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("morphapp", appauthor=False)) / "backend-calibration.json"


def _machine() -> dict[str, Any]:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"node": platform.node(), "machine": platform.machine(), "cpu": cpu, "cores": os.cpu_count()}


def _cache_key(model_id: str, device: torch.device, options: list[tuple[str, str]]) -> str:
    versions: dict[str, str] = {"torch": torch.__version__}
    if any(b == "onnx" for b, _ in options):
        import onnxruntime

        versions["onnxruntime"] = onnxruntime.__version__
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    doc = {
        "v": _CACHE_VERSION, "machine": _machine(), "device": device.type, "gpu": gpu,
        "model": model_id, "options": sorted(f"{b} {p}" for b, p in options), "versions": versions,
        "threads": torch.get_num_threads(),
    }  # fmt: skip
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _fresh_entry(stored: Any, options: list[tuple[str, str]]) -> Choice | None:
    """A cached verdict as a Choice, or None when it is malformed, stale or not among ``options``."""
    try:
        age_s = time.time() - float(stored["at"])
        choice = Choice(str(stored["backend"]), str(stored["precision"]), "cached", dict(stored["measured"]))
    except (KeyError, TypeError, ValueError):
        return None  # entries from before the time stamp count as stale too
    if not 0 <= age_s <= MAX_AGE_DAYS * 86400 or (choice.backend, choice.precision) not in options:
        return None
    return choice


def _write_cache(path: Path, key: str, choice: Choice) -> None:
    doc = _read_cache(path)
    entry: dict[str, Any] = asdict(choice)
    entry.pop("how")
    entry["at"] = time.time()
    doc[key] = entry
    # A cache: failing to write it costs a recalibration next time, never the render.
    with contextlib.suppress(OSError, OutputError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True))
