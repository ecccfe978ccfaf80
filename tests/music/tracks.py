"""Synthetic music for the tests: click tracks at known tempos (no music files needed)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22_050


def click_track(path: Path, bpm: float, seconds: float = 8.0, first: float = 0.5) -> np.ndarray:
    """Short noise bursts on every beat from ``first``; returns the true beat times."""
    rng = np.random.default_rng(0)
    samples = np.zeros(int(seconds * RATE), dtype=np.float64)
    times = np.arange(first, seconds - 0.1, 60.0 / bpm)
    burst = int(0.02 * RATE)
    for t in times:
        i = round(t * RATE)
        samples[i : i + burst] += rng.standard_normal(burst) * np.exp(-np.arange(burst) / 200) * 0.5
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return times
