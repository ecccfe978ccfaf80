"""--align auto with and without a diffusion model's features (DIFT) on the test pairs.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_semantic_align.py --model PATH_TO_SD15 \\
        [--size 512] [--device cuda] [--pairs cat_dog,lion_tiger,...]

Prints one row per pair: the guard's a-b similarity with no warp, with the pixel paths (faces /
SIFT + flow) and with DIFT points, which result ``align_keyframes`` keeps, and the seconds of
each path. The similarity is the guard's own figure (grey, normalised PSNR of b pulled onto a,
dB; higher: lined up). With random weights (tests/diffusion/tiny_sd.py) the DIFT column only
shows the plumbing: its features carry no semantics, and the guard turns its points down.
Not measured here: no SD weights and no GPU on the development machine.
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_warp import DATA, FILES  # run as a script: bench/ is on the path

from morphapp.core.align.auto import auto_align
from morphapp.core.imaging.load import load_image
from morphapp.diffusion.features import semantic_align
from morphapp.diffusion.model import DiffusionModel
from morphapp.models.discovery import find_model

PAIRS = [name for name in FILES if FILES[name][0].startswith("pairs/")]  # bench_warp's, no portraits


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a Stable Diffusion model (name or path)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--pairs", default=",".join(PAIRS))
    args = parser.parse_args()
    model = DiffusionModel(find_model(args.model), torch.device(args.device))
    print(f"model {model.name} on {args.device}, {args.size}², guard figures in dB (higher: lined up)\n")
    print("| pair | no warp | pixel paths | DIFT | kept | pixel s | DIFT s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.pairs.split(","):
        a, b = (load_image(DATA / f, (args.size, args.size)).pixels for f in FILES[name])
        started = time.perf_counter()
        pixel = auto_align(a, b)
        pixel_s = time.perf_counter() - started
        started = time.perf_counter()
        dift = semantic_align(model, a, b)
        dift_s = time.perf_counter() - started
        kept = (
            "DIFT"
            if dift.points and (not pixel.points or dift.psnr_after > pixel.psnr_after)
            else (pixel.method if pixel.points else "none")
        )
        print(
            f"| {name} | {pixel.psnr_before:.2f} | {pixel.psnr_after:.2f} ({pixel.method}) | "
            f"{dift.psnr_after:.2f} ({len(dift.points)} pts) | {kept} | {pixel_s:.1f} | {dift_s:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
