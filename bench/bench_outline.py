"""The outline path of auto-align (``core/align/outline.py``) on pairs that share a kind of subject.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_outline.py [--size 256] [--frames 9]
        [--pairs cat.png:dog.png,...] [--min-iou 0.75] [--strips DIR] [--sizes 256,384,512,768]

For each pair: what ``auto_align`` does today (its path), what ``outline_align`` finds (subject
mask areas, the masks' IoU unwarped and with the best warp, its verdict), and the middle frame's
cross-fade PSNR (``core/quality.crossfade_psnr``) rendered plain and with the outline points
(TAEF2 on the CPU, ``frame`` warp): issue 22 asks the aligned middle frame to be >= 4 dB further
from a cross-fade than the plain one where the pictures share a subject. ``--min-iou`` lowers the
guard's IoU bar for a look at what it turns down (measurement only). ``--sizes``: first, per pair,
``outline_align``'s verdict at each of those frame sizes (no rendering): the overlap and inside figures,
the seconds one attempt takes, and how far its points lie from the first size's (normalised, max) --
the verdict must not follow the frame size. Only measures and prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import morphapp.core.align.outline as outline_module
from morphapp.core.align.auto import auto_align
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import crossfade_psnr
from morphapp.core.render.frames import render_frames
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import find_model

PAIRS_DIR = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"
TUNING = "lion.png:tiger.png,house0.jpg:house1.jpg,cat.png:dog.png,sculp0.png:sculp1.png"
HELD_OUT = "realdog0.jpg:realdog2.jpg,mit.jpg:thu.jpg,jeep.jpg:dog_sit.png,dog_sit.png:realdog1.jpg"


def mask_area(pixels: np.ndarray) -> str:
    mask, _why = outline_module.subject_mask(pixels)
    return "-" if mask is None else f"{mask.mean():.0%}"


def size_table(pairs: str, sizes: list[int]) -> None:
    """outline_align's verdict on each pair at each frame size, and how far the points move."""
    print("| pair | size | verdict | overlap | inside dB | seconds | points vs first size |")
    print("|---|---|---|---|---|---|---|")
    for pair in pairs.split(","):
        first, second = pair.split(":")
        reference: np.ndarray | None = None
        for side in sizes:
            a, b = (load_image(PAIRS_DIR / name, (side, side)).pixels for name in (first, second))
            started = time.perf_counter()
            result = outline_module.outline_align(a, b)
            seconds = time.perf_counter() - started
            text = result.detail if result.points else result.reason
            overlap = text.split("overlap ")[1].split(",")[0].split(")")[0] if "overlap " in text else "-"
            overlap = overlap if " -> " in overlap else "-"
            inside = (
                text.split("inside the subjects ")[1].split(" dB")[0] if "inside the subj" in text else "-"
            )
            moved = "-"
            if result.points:
                points = np.array(result.points)
                if reference is None:
                    reference = points
                if points.shape == reference.shape:
                    moved = f"{np.abs(points - reference).max():.3f}"
            why = result.reason.removeprefix("outline: ").split(" (")[0]
            verdict = "outline" if result.points else f"no warp ({why})"
            figures = f"{overlap} | {inside} | {seconds:.2f} | {moved}"
            print(f"| {first} -> {second} | {side} | {verdict} | {figures} |")
            sys.stdout.flush()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--pairs", default=TUNING)
    parser.add_argument("--min-iou", type=float, default=outline_module.MIN_IOU)
    parser.add_argument("--strips", type=Path, help="write plain/aligned strips (every frame) here")
    parser.add_argument("--sizes", help="frame sizes for the verdict table, e.g. 256,384,512,768")
    parser.add_argument("--no-render", action="store_true", help="the verdict table only")
    args = parser.parse_args()
    outline_module.MIN_IOU = args.min_iou
    if args.sizes:
        print(f"# outline verdict by frame size ({time.strftime('%Y-%m-%d %H:%M')})\n")
        size_table(args.pairs, [int(side) for side in args.sizes.split(",")])
    if args.no_render:
        return

    cpu = torch.device("cpu")
    info = find_model(None)
    codec = open_codec(info, cpu, choose(info, cpu))
    print(f"# outline alignment ({time.strftime('%Y-%m-%d %H:%M')}), {args.frames} frames at {args.size}²\n")
    print("| pair | auto_align today | outline s | mask a / b | IoU before -> after | outline verdict "
          "| x-fade mid plain / aligned (gain) dB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    size = (args.size, args.size)
    for pair in args.pairs.split(","):
        first, second = pair.split(":")
        a, b = (load_image(PAIRS_DIR / name, size).pixels for name in (first, second))
        today = auto_align(a, b)
        started = time.perf_counter()
        result = outline_module.outline_align(a, b)
        seconds = time.perf_counter() - started
        detail = result.detail if result.points else result.reason
        overlap = detail.split("overlap ")[-1].split(",")[0] if "overlap" in detail else "-"
        verdict = "outline" if result.points else "no warp"
        keyframes = [Keyframe(PAIRS_DIR / first), Keyframe(PAIRS_DIR / second)]
        plain_settings = MorphSettings(size=size, frames=args.frames)
        plain = [f.pixels for f in render_frames(keyframes, codec, plain_settings)]
        mid = args.frames // 2
        plain_db = crossfade_psnr(plain[mid], plain[0], plain[-1])
        aligned = plain
        if result.points:
            settings = MorphSettings(size=size, frames=args.frames, points=(result.points,))
            aligned = [f.pixels for f in render_frames(keyframes, codec, settings)]
        aligned_db = crossfade_psnr(aligned[mid], aligned[0], aligned[-1])
        print(
            f"| {first} -> {second} | {today.method if today.points else 'none'} | {seconds:.1f} "
            f"| {mask_area(a)} / {mask_area(b)} | {overlap} | {verdict} "
            f"| {plain_db:.1f} / {aligned_db:.1f} ({plain_db - aligned_db:+.1f}) |"
        )
        sys.stdout.flush()
        if args.strips is not None:
            args.strips.mkdir(parents=True, exist_ok=True)
            pick = range(args.frames)
            rows = [np.concatenate([frames[i] for i in pick], axis=1) for frames in (plain, aligned)]
            name = f"{Path(first).stem}_{Path(second).stem}.png"
            Image.fromarray(np.concatenate(rows, axis=0)).save(args.strips / name)


if __name__ == "__main__":
    main()
