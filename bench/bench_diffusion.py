"""Diffusion morph speed: seconds per keyframe (inversion + recorded denoise) and per in-between,
peak memory, for each variant against plain denoising measured in the same run.

Variants: plain (no attention mixing, no guidance), the default (attention mixing over 60 % of the
steps), guided (classifier-free guidance 7.5: twice the UNet batch), and even pacing (a second
pass). With no --model, a tiny random SD pipeline is built in a temp folder (the code paths are
real, the pictures are noise): useful for overheads, not absolute speed. On a GPU machine:

    python bench/bench_diffusion.py --model /path/to/stable-diffusion-v1-5 --size 512 --steps 25 --frames 16

Issue 4's target: a 16-frame 512² morph in <= 15 s on one H100.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAIRS = ROOT.parent / "shared" / "testdata" / "pairs"

from morphapp.core.domain.diffusion_settings import DiffusionSettings  # noqa: E402
from morphapp.core.domain.keyframes import Keyframe  # noqa: E402
from morphapp.core.domain.settings import MorphSettings  # noqa: E402
from morphapp.core.render.device import resolve_device  # noqa: E402
from morphapp.diffusion.model import DiffusionModel  # noqa: E402
from morphapp.diffusion.render import render_diffusion_frames  # noqa: E402
from morphapp.models.discovery import find_model  # noqa: E402


def peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(model: DiffusionModel, settings: MorphSettings, pair: tuple[str, str]) -> dict[str, float]:
    keyframes = [Keyframe(PAIRS / pair[0]), Keyframe(PAIRS / pair[1])]
    marks: list[float] = []
    start = time.perf_counter()
    frames = 0
    for frame in render_diffusion_frames(keyframes, model, settings):
        frames += 1
        marks.append(time.perf_counter())
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        assert frame.pixels.std() > 0
    total = time.perf_counter() - start
    keyframe_s = marks[0] - start  # both keyframes are prepared before the first frame
    inner = frames - 2
    return {"total": total, "keyframes": keyframe_s, "per_frame": (marks[-2] - marks[0]) / max(1, inner)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="a diffusers folder or .safetensors checkpoint (default: tiny random)"
    )
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pair", default="cat.png,dog.png")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.model is None:
        from tests.diffusion.tiny_sd import build_tiny_sd

        folder = build_tiny_sd(Path(tempfile.mkdtemp()))
        info = find_model(str(folder))
    else:
        info = find_model(args.model)
    model = DiffusionModel(info, device)
    base = MorphSettings(size=(args.size, args.size), frames=args.frames)
    variants = {
        "plain": DiffusionSettings(steps=args.steps, attn_steps=0.0, guidance=1.0),
        "default (attention 0.6)": DiffusionSettings(steps=args.steps),
        "guided 7.5": DiffusionSettings(steps=args.steps, guidance=7.5),
        "even pacing": DiffusionSettings(steps=args.steps, pacing="even"),
    }
    pair = tuple(args.pair.split(","))
    what = f"{args.size}², {args.steps} steps, {args.frames} frames"
    print(f"model {info.name} on {device} ({model.dtype}), {what}")
    warm_up = dataclasses.replace(base, frames=3, diffusion=variants["plain"])
    run(model, warm_up, pair)  # type: ignore[arg-type]
    rows = []
    for name, options in variants.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        figures = run(model, dataclasses.replace(base, diffusion=options), pair)  # type: ignore[arg-type]
        rows.append((name, figures, peak_mib(device)))
    plain = rows[0][1]["per_frame"]
    header = f"{'variant':<26}{'keyframes s':>12}{'s/in-between':>14}{'vs plain':>10}{'total s':>10}"
    print(f"{header}{'peak MiB':>10}")
    for name, f, peak in rows:
        print(f"{name:<26}{f['keyframes']:>12.2f}{f['per_frame']:>14.3f}{f['per_frame'] / plain:>9.2f}x"
              f"{f['total']:>10.2f}{peak:>10.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
