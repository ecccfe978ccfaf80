"""Encoded keyframes, kept so that changing a setting never re-encodes an unchanged image."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LatentKey:
    sha256: str  # the image file's content, so edits on disk invalidate the entry
    model_id: str
    size: tuple[int, int]
    fit: str
    background: tuple[int, int, int]


class LatentCache:
    """A small LRU of keyframe latents (a 512² TAEF2 latent is 0.5 MB)."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[LatentKey, torch.Tensor] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: LatentKey) -> torch.Tensor | None:
        latent = self._items.get(key)
        if latent is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return latent

    def put(self, key: LatentKey, latent: torch.Tensor) -> None:
        self._items[key] = latent
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
