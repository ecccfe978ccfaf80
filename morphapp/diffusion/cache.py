"""Inverted noise of image keyframes, cached in memory and on disk.

Inverting a keyframe costs as much as rendering a frame, and it only depends on the image, the
model, the size/fit, the steps and the prompt; re-renders with another frame count, easing,
guidance or attention setting reuse it. Disk entries are small safetensors files (a 512² SD
noise is 64 kB), written atomically, read with safetensors (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs
import torch
from safetensors.torch import load_file, save_file

_log = logging.getLogger(__name__)


def default_cache_folder() -> Path:
    return Path(platformdirs.user_cache_dir("morphapp", appauthor=False)) / "inversions"


@dataclass(frozen=True)
class InversionKey:
    image_sha256: str
    model_id: str
    size: tuple[int, int]
    fit: str
    background: tuple[int, int, int]
    steps: int
    start: int  # the step the noise is at (0: pure noise)
    prompt: str

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


class InversionCache:
    def __init__(self, folder: Path | None = None, max_in_memory: int = 32) -> None:
        self.folder = folder
        self._memory: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._max = max_in_memory

    def get(self, key: InversionKey) -> torch.Tensor | None:
        digest = key.digest()
        if digest in self._memory:
            self._memory.move_to_end(digest)
            return self._memory[digest].clone()
        if self.folder is None:
            return None
        path = self.folder / f"{digest}.safetensors"
        if not path.is_file():
            return None
        try:
            noise = load_file(str(path))["noise"]
        except Exception as exc:  # a damaged entry is recomputed, never fatal
            _log.info("inversion cache entry %s unreadable (%s); recomputing", path.name, exc)
            return None
        self._remember(digest, noise)
        return noise.clone()

    def put(self, key: InversionKey, noise: torch.Tensor) -> None:
        digest = key.digest()
        noise = noise.detach().to("cpu", torch.float32).contiguous()
        self._remember(digest, noise)
        if self.folder is None:
            return
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            os.close(handle)
            save_file({"noise": noise}, tmp)
            os.replace(tmp, self.folder / f"{digest}.safetensors")
            tmp = None
        except OSError as exc:  # a full or read-only cache costs time, not the render
            _log.info("inversion cache not written (%s)", exc)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _remember(self, digest: str, noise: torch.Tensor) -> None:
        self._memory[digest] = noise
        self._memory.move_to_end(digest)
        while len(self._memory) > self._max:
            self._memory.popitem(last=False)
