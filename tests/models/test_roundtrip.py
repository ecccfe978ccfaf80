"""The real TAEF2 weights reconstruct real photos: the quality floor of every morph frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import to_pixels, to_tensor
from morphapp.models.tae_codec import TaeCodec


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def test_every_test_photo_round_trips_at_512(pairs_dir: Path, taef2: TaeCodec) -> None:
    scores = {}
    for path in sorted(pairs_dir.iterdir()):
        pixels = load_image(path, (512, 512)).pixels
        with torch.inference_mode():
            decoded = to_pixels(taef2.decode(taef2.encode(to_tensor(pixels))))[0]
        scores[path.name] = psnr(pixels, decoded)
    assert len(scores) >= 10
    mean = sum(scores.values()) / len(scores)
    assert mean >= 30.0, scores
    assert min(scores.values()) >= 20.0, scores  # house0.jpg, all fine detail, is the hardest (21 dB)
