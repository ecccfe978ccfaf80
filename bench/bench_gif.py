"""GIF presets on real morphs: size, encode time, shimmer on still areas, PSNR (issue 24).

    python bench/bench_gif.py FOLDER [FOLDER ...] [--variant LABEL:FORMAT[:key=value,...]] [--only-variants]
    python bench/bench_gif.py --render FIRST SECOND [--size 480 --frames 72 --fps 24]

FOLDER is a PNG-sequence export (``morphapp render a.jpg b.jpg -o FOLDER --format png --size 480x480
--frames 72``); its ``morph.json`` gives the fps. ``--render`` makes such a folder first (with the
first model found through MORPHAPP_MODEL_PATH) in a temporary folder. Each folder is encoded with
every GIF preset in ``FORMATS`` (at its own options), then with each ``--variant`` (a preset with
options overridden, e.g. ``web-96:gif-web:colors=96``), through ``open_writer`` as the app does.

Columns: MB, MB per second of animation, encode seconds (wall clock, the whole ``open_writer``
... ``commit``), shimmer, PSNR. Shimmer is the mean absolute change (levels, averaged over RGB) of
the decoded GIF's pixels from one frame to the next, over the pixels whose source hardly changes
(every channel moves by less than ``--still`` levels, default 2): 0 when still areas stay still,
a few levels when the dither pattern crawls. "still %" is the share of such pixels. PSNR is the
mean over frames of the decoded GIF against its source frame.

Only measures and prints; nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from morphapp.export import FORMATS, open_writer


def load_folder(folder: Path) -> tuple[list[np.ndarray], float]:
    meta = json.loads((folder / "morph.json").read_text()) if (folder / "morph.json").exists() else {}
    names = meta.get("frames") or sorted(p.name for p in folder.glob("*.png"))
    frames = []
    for name in names:
        with Image.open(folder / name) as im:
            frames.append(np.asarray(im.convert("RGB")))
    return frames, float(meta.get("fps", 24.0))


def render_folder(first: Path, second: Path, size: int, frames: int, fps: float, out: Path) -> Path:
    command = [sys.executable, "-m", "morphapp", "render", str(first), str(second), "-o", str(out)]
    command += ["--format", "png", "--size", f"{size}x{size}", "--frames", str(frames), "--fps", str(fps)]
    command.append("-q")
    subprocess.run(command, check=True)
    return out


def decode_gif(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        decoded = []
        for index in range(im.n_frames):
            im.seek(index)
            decoded.append(np.asarray(im.convert("RGB")))
    return decoded


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def shimmer(sources: list[np.ndarray], decoded: list[np.ndarray], still: int) -> tuple[float, float]:
    """(mean |gif_t - gif_t-1| over still source pixels, share of still pixels)."""
    total, count, pixels = 0.0, 0, 0
    for t in range(1, len(sources)):
        src_change = np.abs(sources[t].astype(np.int16) - sources[t - 1]).max(axis=2)
        mask = src_change < still
        gif_change = np.abs(decoded[t].astype(np.int16) - decoded[t - 1]).mean(axis=2)
        total += float(gif_change[mask].sum())
        count += int(mask.sum())
        pixels += mask.size
    return (total / count if count else float("nan")), count / max(pixels, 1)


def encode(frames: list[np.ndarray], fps: float, fmt: str, options: dict[str, str], target: Path) -> float:
    start = time.perf_counter()
    with open_writer(target, fps=fps, format=fmt, options=options or None) as writer:
        for frame in frames:
            writer.write(frame)
    return time.perf_counter() - start


def parse_variant(text: str) -> tuple[str, str, dict[str, str]]:
    label, fmt, *rest = text.split(":", 2)
    options = dict(item.split("=", 1) for item in rest[0].split(",")) if rest and rest[0] else {}
    if fmt not in FORMATS or FORMATS[fmt].writer != "gif":
        raise SystemExit(f"--variant {text}: {fmt!r} is not a GIF preset")
    return label, fmt, options


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("folders", nargs="*", type=Path, help="PNG-sequence folders")
    parser.add_argument("--render", nargs=2, type=Path, metavar=("FIRST", "SECOND"))
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--fps", type=float, default=24.0)
    parser.add_argument("--variant", action="append", default=[], help="LABEL:FORMAT[:key=value,...]")
    parser.add_argument("--only-variants", action="store_true", help="skip the presets' own rows")
    parser.add_argument(
        "--still", type=int, default=2, help="source change (levels) under which a pixel is still"
    )
    args = parser.parse_args()

    rows = [] if args.only_variants else [(f.name, f.name, {}) for f in FORMATS.values() if f.writer == "gif"]
    rows += [parse_variant(v) for v in args.variant]
    with tempfile.TemporaryDirectory(prefix="bench_gif_") as tmp:
        folders = list(args.folders)
        if args.render:
            out = Path(tmp) / "render"
            folders.append(render_folder(*args.render, args.size, args.frames, args.fps, out))
        if not folders:
            parser.error("give a PNG-sequence folder or --render FIRST SECOND")
        for folder in folders:
            frames, fps = load_folder(folder)
            seconds = len(frames) / fps
            height, width = frames[0].shape[:2]
            facts = f"{len(frames)} frames, {width}x{height}, {fps:g} fps ({seconds:.2f} s)"
            print(f"\n### {folder.name}: {facts}\n")
            print("| preset / variant | options | MB | MB/s | encode s | shimmer | still % | PSNR dB |")
            print("|---|---|---:|---:|---:|---:|---:|---:|")
            for label, fmt, options in rows:
                target = Path(tmp) / f"{label}.gif"
                took = encode(frames, fps, fmt, options, target)
                size_mb = target.stat().st_size / 1e6
                decoded = decode_gif(target)
                shim, still = shimmer(frames, decoded, args.still)
                quality = float(np.mean([psnr(d, s) for d, s in zip(decoded, frames, strict=True)]))
                shown = ",".join(f"{k}={v}" for k, v in {**FORMATS[fmt].options, **options}.items())
                print(
                    f"| {label} | {shown} | {size_mb:.2f} | {size_mb / seconds:.2f} | {took:.2f} "
                    f"| {shim:.2f} | {100 * still:.0f} | {quality:.1f} |",
                    flush=True,
                )
                target.unlink()


if __name__ == "__main__":
    main()
