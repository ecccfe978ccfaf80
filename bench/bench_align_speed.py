"""What the default alignment costs and gives: plain vs aligned renders of the test pairs.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_align_speed.py [--size 512] [--frames 24]
        [--pairs biden_trump,house,jeep.jpg@1.8,...] [--warps frame,pixel] [--repeats 2] [--strips DIR]

A pair named ``FIRST:SECOND`` is two photos of ../shared/testdata/pairs; ``PHOTO@ZOOM`` is one test
photo and a crop of it ZOOM x closer (a reframed scene: the camera path, as ``bench_camera.py`` makes it).

For each pair, in this process with one TAEF2 codec (the CLI's ``auto`` backend choice), the same
frames are rendered plain (no points) and aligned (``--align auto``'s points, with each warp mode
asked for), alternating plain / aligned ``--repeats`` times, and a table is printed:

- **align s**: finding the points (``align_keyframes``: faces, features, flow; once per pair);
- **plain s / <warp> s**: the render itself (keyframe encodes, warps, decodes), medians;
- **ratio**: (align + render) / plain render, the figure issue 22 bounds by 1.5 for ``frame``;
- **where the time goes** (aligned, frame warp): encodes, decodes, warps (the spline field and the
  resampling), from counters wrapped around the codec and the warp functions;
- **x-fade mid dB**: the middle frame's cross-fade PSNR (``core/imaging/quality.py``), plain and aligned,
  and their difference (issue 22's goal: aligned at least 4 dB further from a cross-fade where the
  pictures share a subject); **evenness** (1 - Gini of the steps), **border** (levels).

Whole-process figures (imports and model load included) come from ``farm-bench`` on the CLI; see
bench/README.md. Only measures and prints; nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_camera import reframed  # sibling scripts, not a package
from bench_warp import DATA, FILES

import morphapp.core.render.shape_morph as warp_module  # the names ShapeMorph calls
from morphapp.core.align.auto import align_keyframes
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.quality import segment_report
from morphapp.core.render.frames import render_frames
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import find_model

CPU = torch.device("cpu")
FILES = {**FILES, "house": ("pairs/house0.jpg", "pairs/house1.jpg"), "lion_tiger": FILES["lion_tiger"]}


class Timers:
    """Seconds spent in wrapped functions, by name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


class TimedCodec:
    def __init__(self, codec: object, timers: Timers) -> None:
        self._codec = codec
        self.encode = timers.wrap("encode", codec.encode)  # type: ignore[attr-defined]
        self.decode = timers.wrap("decode", codec.decode)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._codec, name)


@contextmanager
def timed_warps(timers: Timers) -> Iterator[None]:
    saved = warp_module.segment_field, warp_module.warp_pixels
    warp_module.segment_field = timers.wrap("field", saved[0])  # type: ignore[assignment]
    warp_module.warp_pixels = timers.wrap("resample", saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        warp_module.segment_field, warp_module.warp_pixels = saved


def render(
    keyframes: list[Keyframe], codec: object, settings: MorphSettings
) -> tuple[float, list[np.ndarray]]:
    started = time.perf_counter()
    frames = [f.pixels for f in render_frames(keyframes, codec, settings)]  # type: ignore[arg-type]
    return time.perf_counter() - started, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--pairs", default="biden_trump,musk_feifei,house,sculp,lion_tiger,cat_dog")
    parser.add_argument("--warps", default="frame,pixel")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--strips", type=Path, help="write plain/aligned strips (7 frames) here")
    args = parser.parse_args()

    info = find_model(None)
    choice = choose(info, CPU)
    codec = open_codec(info, CPU, choice)
    print(f"# alignment cost and gain ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"- {info.name}, {choice.describe()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"- {args.frames} frames at {args.size}², medians of {args.repeats} alternating runs\n")
    warps = args.warps.split(",")
    head = "| pair | path | align s | plain s | " + " | ".join(f"{w} s | {w} ratio" for w in warps)
    print(head + " | frame: encode / decode / field / resample s | x-fade mid plain / aligned (gain) dB "
          "| evenness plain / aligned | border plain / aligned |")  # fmt: skip
    print("|" + "---|" * (head.count("|") + 3 - 1))
    scratch = tempfile.TemporaryDirectory()
    for name in args.pairs.split(","):
        if "@" in name:
            photo, zoom = name.split("@")
            keyframes = [
                Keyframe(p)
                for p in reframed(DATA / "pairs" / photo, float(zoom), 0.0, args.size, Path(scratch.name))
            ]
        else:  # a name from bench_warp.py's FILES, or FIRST:SECOND of ../shared/testdata/pairs
            first, second = FILES[name] if name in FILES else (f"pairs/{p}" for p in name.split(":"))
            keyframes = [Keyframe(DATA / first), Keyframe(DATA / second)]
        base = MorphSettings(size=(args.size, args.size), frames=args.frames)
        started = time.perf_counter()
        notes: list[str] = []
        (points,) = align_keyframes(keyframes, base, notes.append)
        align_s = time.perf_counter() - started
        path = notes[-1].split("auto-align: ")[-1].split(",")[0]
        times: dict[str, list[float]] = defaultdict(list)
        frames: dict[str, list[np.ndarray]] = {}
        parts = Timers()
        for _ in range(args.repeats):
            seconds, frames["plain"] = render(keyframes, codec, base)
            times["plain"].append(seconds)
            for mode in warps:
                settings = MorphSettings(size=base.size, frames=args.frames, points=(points,), warp=mode)
                timers = Timers()
                with timed_warps(timers):
                    seconds, frames[mode] = render(keyframes, TimedCodec(codec, timers), settings)
                times[mode].append(seconds)
                if mode == "frame":
                    parts = timers
        plain = statistics.median(times["plain"])
        ts = list(np.linspace(0.0, 1.0, args.frames))
        report_plain = segment_report(frames["plain"], ts)
        report_aligned = segment_report(frames[warps[0]], ts)
        cells = []
        for mode in warps:
            aligned = statistics.median(times[mode])
            cells.append(f"{aligned:.1f} | {(align_s + aligned) / plain:.2f}x")
        kinds = ("encode", "decode", "field", "resample")
        split = " / ".join(f"{parts.seconds[k]:.1f}" for k in kinds)  # the last aligned run's
        gain = report_plain.crossfade_psnr_mid - report_aligned.crossfade_psnr_mid
        print(
            f"| {name} | {path if points else 'none'} | {align_s:.1f} | {plain:.1f} | {' | '.join(cells)} "
            f"| {split} | {report_plain.crossfade_psnr_mid:.1f} / {report_aligned.crossfade_psnr_mid:.1f} "
            f"({gain:+.1f}) "
            f"| {report_plain.evenness:.2f} / {report_aligned.evenness:.2f} "
            f"| {report_plain.border:.1f} / {report_aligned.border:.1f} |"
        )  # fmt: skip
        sys.stdout.flush()
        if args.strips is not None:
            args.strips.mkdir(parents=True, exist_ok=True)
            pick = np.linspace(0, args.frames - 1, 7).round().astype(int)
            rows = [np.concatenate([frames[k][i] for i in pick], axis=1) for k in ("plain", warps[0])]
            Image.fromarray(np.concatenate(rows, axis=0)).resize((7 * 160, 2 * 160)).save(
                args.strips / f"{name}.png"
            )


if __name__ == "__main__":
    main()
