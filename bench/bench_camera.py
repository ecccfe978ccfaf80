"""Reframed scenes (one photo framed twice): does the default render move the camera, and how far
from a cross-fade is its middle frame? (issue 22: a reframed scene ghosted with a border-pinned warp)

Each photo is squared and paired with a crop of it ``zoom`` x closer (off centre, and turned by
``--turn`` degrees when asked), both at ``--size``. For each pair: the path auto-align takes, the
middle frame's cross-fade PSNR plain (``--align none``) and default, their difference (issue 22's
bar: at least 4 dB), and the seconds of each render (the same process, plain first; compare with
``farm-bench`` for claims). Only measures and prints; nothing asserts.

    python bench/bench_camera.py --photos jeep.jpg,mit.jpg --zooms 1.3,1.8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from morphapp.core.align.auto import align_keyframes
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.quality import crossfade_psnr
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
    args = parser.parse_args()
    info = find_model(None)
    cpu = torch.device("cpu")
    codec = open_codec(info, cpu, choose(info, cpu))
    print("| photo | zoom | path | x-fade mid plain / default (gain) dB | plain s | default s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.photos.split(","):
            for zoom in (float(z) for z in args.zooms.split(",")):
                wide, close = reframed(PAIRS / name, zoom, args.turn, args.size, Path(tmp))
                keys = [Keyframe(wide), Keyframe(close)]
                base = MorphSettings(size=(args.size, args.size), frames=args.frames)
                notes: list[str] = []
                (points,) = align_keyframes(keys, base, notes.append)
                path = notes[-1].split("auto-align: ")[-1].split(",")[0]
                figures = []
                for settings in (base, MorphSettings(size=base.size, frames=args.frames, points=(points,))):
                    started = time.perf_counter()
                    frames = [f.pixels for f in render_frames(keys, codec, settings)]
                    seconds = time.perf_counter() - started
                    mid = frames[len(frames) // 2]
                    figures.append((crossfade_psnr(mid, frames[0], frames[-1]), seconds))
                (plain, plain_s), (moved, moved_s) = figures
                print(
                    f"| {name} | {zoom:g} | {path} | {plain:.1f} / {moved:.1f} ({plain - moved:+.1f}) "
                    f"| {plain_s:.1f} | {moved_s:.1f} |"
                )


if __name__ == "__main__":
    main()
