"""Synthetic frames and read-back helpers for the export tests."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image


def synthetic_frame(index: int, width: int = 64, height: int = 48) -> np.ndarray:
    """A smooth colour gradient that drifts, plus a moving disc: codecs see real motion."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.15
    red = 127 + 100 * np.sin(x / width * 3.0 + phase)
    green = 127 + 100 * np.cos(y / height * 2.5 - phase)
    blue = 60 + 150 * (x + y) / (width + height)
    frame = np.stack([red, green, blue], axis=-1)
    cx = (width * 0.2 + index * 3) % width
    cy = height / 2
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(width, height) / 5) ** 2
    frame[disc] = (240, 230, 40)
    return np.clip(frame, 0, 255).round().astype(np.uint8)


def synthetic_frames(count: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    return [synthetic_frame(i, width, height) for i in range(count)]


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        if size is not None:
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(rgb)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def read_gif(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    """Decoded RGB frames, per-frame durations (ms) and the file-level info of a GIF."""
    frames, durations = [], []
    with Image.open(path) as im:
        info = dict(im.info)
        for index in range(im.n_frames):
            im.seek(index)
            durations.append(im.info["duration"])
            frames.append(np.asarray(im.convert("RGB")))
    return frames, durations, info


def read_video(path: Path) -> dict:
    """Stream facts and decoded RGB frames of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "average_rate": stream.average_rate,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "metadata": dict(container.metadata),
        }
        facts["frames"] = [_to_rgb(frame) for frame in container.decode(stream)]
    return facts


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    # swscale's default yuv420p->rgb path shifts colours by ~1 level; convert accurately, as
    # a player's shader does, so PSNR measures the encoder and not the test's converter.
    accurate = Interpolation.BICUBIC | Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND
    return frame.reformat(format="rgb24", interpolation=accurate).to_ndarray()


def top_level_atoms(path: Path) -> list[str]:
    """Box types at the top level of an MP4/MOV file, in file order."""
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:  # box runs to the end of the file
            size = len(data) - pos
        atoms.append(kind)
        pos += size
    return atoms
