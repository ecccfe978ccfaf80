"""Speed of the face path: detection + mesh per keyframe, segmentation, and a whole auto-align.

    python bench/bench_faces.py [--size 512] [--repeats 7]

Prints a Markdown table: per portrait of ../shared/testdata/faces, the median milliseconds of
face detection + the 468-point mesh, of the selfie segmentation, and per pair of a whole
``auto_align`` (faces path) against the feature path (SIFT + flow, ``--align features``) on the
same pair in the same run. Targets (issue 13): detection + landmarks <= 50 ms per 512 x 512
keyframe, a whole auto-align <= 1 s per pair. Nothing here asserts on a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from morphapp.core.align.auto import auto_align
from morphapp.core.imaging.load import load_image
from morphapp.faces.correspond import find_meshes
from morphapp.faces.segmentation import person_mask

FACES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces"
PAIRS = [("Biden.jpg", "Trump.jpg"), ("Musk.jpg", "Feifei.jpg"), ("obama.jpg", "Biden.jpg")]


def _median_ms(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up: loads the model once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    size = (args.size, args.size)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.size}², "
          f"median of {args.repeats}, load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| portrait | detect + mesh ms | segmentation ms |")
    print("|---|---|---|")
    for path in sorted(FACES.iterdir()):
        pixels = load_image(path, size).pixels
        mesh_ms = _median_ms(lambda p=pixels: find_meshes(p), args.repeats)
        mask_ms = _median_ms(lambda p=pixels: person_mask(p), args.repeats)
        print(f"| {path.stem} | {mesh_ms:.1f} | {mask_ms:.1f} |")
    print("\n| pair | auto-align (faces) s | feature path s | faces / features |")
    print("|---|---|---|---|")
    for a, b in PAIRS:
        pa, pb = (load_image(FACES / n, size).pixels for n in (a, b))
        faces_ms = _median_ms(lambda x=pa, y=pb: auto_align(x, y, "faces"), max(3, args.repeats // 2))
        feature_ms = _median_ms(lambda x=pa, y=pb: auto_align(x, y, "features"), max(3, args.repeats // 2))
        print(f"| {Path(a).stem} → {Path(b).stem} | {faces_ms / 1000:.2f} | {feature_ms / 1000:.2f} | "
              f"{faces_ms / feature_ms:.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
