"""Silhouette refinement (``core/align/silhouette.py``): what snapping the outlines adds to the feature path.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_silhouette.py [--size 256] [--frames 9]
        [--pairs dog.png:dog_sit.png,...] [--sizes 256,512] [--strips DIR]

For each pair and frame size: the feature path without the snap and with it (``feature_align``'s
``snap_outlines``), its method, the subjects' overlap (IoU of a's mask and b's pulled onto a),
the a-b structure similarity, seconds for the whole feature path each way, and the middle frame's
cross-fade PSNR rendered plain, with the feature path's points and with the snapped ones (TAEF2 on
the CPU, default frame warp, linear pacing; issue 22 asks >= 4 dB below plain where the pictures
share a subject). ``--strips``: plain / feature path / snapped rows, every frame. Only measures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from morphapp.core.align.auto import feature_align
from morphapp.core.align.subject import mask_iou, pull_mask, subject_mask
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import crossfade_psnr
from morphapp.core.render.frames import render_frames
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import find_model

PAIRS_DIR = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"
# The one real pose change in the test photos, both ways; then pairs the step must leave alone
# (different subjects: no global fit, so never snapped; the reframed jeep takes the camera path).
PAIRS = "dog.png:dog_sit.png,dog_sit.png:dog.png,realdog0.jpg:realdog1.jpg,house0.jpg:house1.jpg"


def overlap(a: np.ndarray, b: np.ndarray, points: SegmentPoints) -> str:
    mask_a, mask_b = subject_mask(a)[0], subject_mask(b)[0]
    if mask_a is None or mask_b is None or not points:
        return "-"
    return f"{mask_iou(mask_a, pull_mask(mask_b, points)):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="frame size of the renders")
    parser.add_argument("--sizes", default="256,512", help="frame sizes of the align table")
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--pairs", default=PAIRS)
    parser.add_argument("--strips", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"# silhouette refinement ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| pair | size | without: method, overlap, similarity, s | with: method, overlap, similarity, s |")
    print("|---|---|---|---|")
    for pair in args.pairs.split(","):
        first, second = pair.split(":")
        for side in (int(s) for s in args.sizes.split(",")):
            a, b = (load_image(PAIRS_DIR / name, (side, side)).pixels for name in (first, second))
            cells = []
            for snap in (False, True):
                started = time.perf_counter()
                result = feature_align(a, b, snap_outlines=snap)
                seconds = time.perf_counter() - started
                method = result.method if result.points else "none"
                cells.append(
                    f"{method}, {overlap(a, b, result.points)}, {result.psnr_after:.1f} dB, {seconds:.2f}"
                )
            print(f"| {first} -> {second} | {side} | {cells[0]} | {cells[1]} |")
            sys.stdout.flush()
    print()

    cpu = torch.device("cpu")
    info = find_model(None)
    codec = open_codec(info, cpu, choose(info, cpu))
    size = (args.size, args.size)
    print(f"{args.frames} frames at {args.size}², middle frame's cross-fade PSNR (lower: shapes move)\n")
    print("| pair | plain | feature path | snapped | snapped vs plain |")
    print("|---|---|---|---|---|")
    for pair in args.pairs.split(","):
        first, second = pair.split(":")
        a, b = (load_image(PAIRS_DIR / name, size).pixels for name in (first, second))
        keyframes = [Keyframe(PAIRS_DIR / first), Keyframe(PAIRS_DIR / second)]
        rows, figures = [], []
        for points in ((), feature_align(a, b, snap_outlines=False).points, feature_align(a, b).points):
            settings = MorphSettings(
                size=size, frames=args.frames, pacing="linear", points=(points,) if points else None
            )
            frames = [f.pixels for f in render_frames(keyframes, codec, settings)]
            mid = args.frames // 2
            figures.append(crossfade_psnr(frames[mid], frames[0], frames[-1]))
            rows.append(np.concatenate(frames, axis=1))
        plain, feature, snapped = figures
        gain = snapped - plain
        print(f"| {first} -> {second} | {plain:.1f} | {feature:.1f} | {snapped:.1f} | {gain:+.1f} |")
        sys.stdout.flush()
        if args.strips is not None:
            args.strips.mkdir(parents=True, exist_ok=True)
            name = f"{Path(first).stem}_{Path(second).stem}.png"
            Image.fromarray(np.concatenate(rows, axis=0)).save(args.strips / name)


if __name__ == "__main__":
    main()
