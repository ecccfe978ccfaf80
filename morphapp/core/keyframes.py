"""Keyframes: the images a morph passes through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from morphapp.errors import InputError


@dataclass(frozen=True)
class Keyframe:
    path: Path
    sha256: str | None = None  # content hash recorded in a project; None until known


def check_keyframes(keyframes: list[Keyframe]) -> None:
    if len(keyframes) < 2:
        raise InputError(f"a morph needs at least two keyframes, got {len(keyframes)}")
