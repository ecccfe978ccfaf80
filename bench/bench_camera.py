"""Reframed scenes (one photo framed twice): does the default render move the camera, and how far
from a cross-fade is its middle frame? (issue 22: a reframed scene ghosted with a border-pinned warp)

Each photo is squared and paired with a crop of it ``zoom`` x closer (off centre, and turned by
``--turn`` degrees when asked), both at ``--size``. For each pair: the path auto-align takes, the
middle frame's cross-fade PSNR plain (``--align none``), with the default ``frame`` warp (the
middle views encoded once per segment) and with ``pixel`` (both views encoded for every frame: what
``frame`` did before), the gain of each over plain (issue 22's bar: at least 4 dB), how close the
two warps' in-betweens are (mean PSNR), and the seconds of each render (the same process, in turn;
compare with ``farm-bench`` for claims). ``--strips DIR`` writes each render's frames side by side
to look at. Only measures and prints; nothing asserts.

    python bench/bench_camera.py --photos jeep.jpg,mit.jpg --zooms 1.3,1.8 --strips /tmp/camera
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from morphapp.core.align.auto import align_keyframes
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.quality import crossfade_psnr, psnr
from morphapp.core.render.frames import render_frames
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import find_model

PAIRS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"


def reframed(photo: Path, zoom: float, turn: float, size: int, folder: Path) -> tuple[Path, Path]:
    image = Image.open(photo).convert("RGB")
    side = min(image.size)
    square = image.crop((0, 0, side, side))
    crop = round(side / zoom)
    left, top = round((side - crop) * 0.35), round((side - crop) * 0.45)
    close = square.crop((left, top, left + crop, top + crop)).rotate(turn, Image.Resampling.BICUBIC)
    wide_path, close_path = folder / f"{photo.stem}-wide.png", folder / f"{photo.stem}-{zoom}-close.png"
    square.resize((size, size), Image.Resampling.LANCZOS).save(wide_path)
    close.resize((size, size), Image.Resampling.LANCZOS).save(close_path)
    return wide_path, close_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="jeep.jpg,mit.jpg,thu.jpg,realdog2.jpg,dog_sit.png")
    parser.add_argument("--zooms", default="1.3,1.8")
    parser.add_argument("--turn", type=float, default=0.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--strips", type=Path, default=None)
    args = parser.parse_args()
    info = find_model(None)
    cpu = torch.device("cpu")
    codec = open_codec(info, cpu, choose(info, cpu))
    if args.strips is not None:
        args.strips.mkdir(parents=True, exist_ok=True)
    print(
        "| photo | zoom | path | x-fade mid dB: plain / frame (gain) / pixel (gain) | frame vs pixel dB "
        "| plain s | frame s | pixel s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.photos.split(","):
            for zoom in (float(z) for z in args.zooms.split(",")):
                wide, close = reframed(PAIRS / name, zoom, args.turn, args.size, Path(tmp))
                keys = [Keyframe(wide), Keyframe(close)]
                base = MorphSettings(size=(args.size, args.size), frames=args.frames)
                notes: list[str] = []
                (points,) = align_keyframes(keys, base, notes.append)
                path = notes[-1].split("auto-align: ")[-1].split(",")[0]
                renders: dict[str, tuple[list[np.ndarray], float]] = {}
                for label, settings in (
                    ("plain", base),
                    ("frame", MorphSettings(size=base.size, frames=args.frames, points=(points,))),
                    (
                        "pixel",
                        MorphSettings(size=base.size, frames=args.frames, points=(points,), warp="pixel"),
                    ),
                ):
                    started = time.perf_counter()
                    frames = [f.pixels for f in render_frames(keys, codec, settings)]
                    renders[label] = frames, time.perf_counter() - started
                    if args.strips is not None:
                        strip = np.concatenate(frames, axis=1)
                        Image.fromarray(strip).save(args.strips / f"{Path(name).stem}-{zoom:g}-{label}.png")
                xfade = {k: crossfade_psnr(f[len(f) // 2], f[0], f[-1]) for k, (f, _s) in renders.items()}
                pairs = zip(renders["frame"][0][1:-1], renders["pixel"][0][1:-1], strict=True)
                agree = np.mean([psnr(a, b) for a, b in pairs])
                plain, frame, pixel = xfade["plain"], xfade["frame"], xfade["pixel"]
                print(
                    f"| {name} | {zoom:g} | {path} | {plain:.1f} / {frame:.1f} ({plain - frame:+.1f})"
                    f" / {pixel:.1f} ({plain - pixel:+.1f}) | {agree:.1f} "
                    f"| {renders['plain'][1]:.1f} | {renders['frame'][1]:.1f} | {renders['pixel'][1]:.1f} |"
                )


if __name__ == "__main__":
    main()
