"""The CUDA out-of-memory ladder: when a frame does not fit, step down and try the frame again.

Rungs, cheapest first: run as loaded; one image per UNet call (classifier-free guidance otherwise
doubles the batch); a tiled VAE decode (the decode's activations dominate at large sizes); the
CPU, in float32. A rung is kept for the rest of the render, and the CLI says which one was used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from morphapp.errors import ModelError

T = TypeVar("T")
RUNGS: tuple[str, ...] = ("as loaded", "one image per UNet call", "tiled VAE decode", "CPU (float32)")


class MemoryLadder:
    def __init__(self, apply: Callable[[int], None], note: Callable[[str], None]) -> None:
        self.rung = 0
        self._apply = apply  # puts the model on a rung
        self._note = note

    @property
    def rung_name(self) -> str:
        return RUNGS[self.rung]

    def run(self, work: Callable[[], T]) -> T:
        while True:
            try:
                return work()
            except torch.OutOfMemoryError as exc:
                if self.rung == len(RUNGS) - 1:
                    raise ModelError(f"out of memory even on the CPU: {exc}") from exc
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                self.rung += 1
                self._note(f"out of GPU memory; continuing with: {self.rung_name}")
                self._apply(self.rung)
