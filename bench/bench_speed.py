"""Speed of the backends and of the whole render, against a naive baseline measured in the same run.

    MORPHAPP_MODEL_PATH=/path/to/models python bench/bench_speed.py [--sizes 512,1024] [--repeats 3]
        [--frames 48] [--big-frames 600] [--quick]

Prints Markdown tables:

1. GEMM peak: the best of a large float32 matmul in torch and in numpy (and bfloat16 in torch),
   the ceiling any convolution network can reach on this machine.
2. Encode / decode ms per call (one real photo, batch 1) for ``naive`` (eager float32 NCHW
   ``nn.Sequential``, the baseline), ``torch fp32`` / ``torch bf16`` (``TaeCodec``) and ``onnx fp32``
   (``OnnxCodec``), round-robin; speed-up vs naive (paired, median); achieved GFLOP/s from the
   convolutions' FLOP count (counted with hooks, exact), and that as a share of the fp32 GEMM peak.
3. Render: the chosen codec's frames (48 at 512²) into MP4 and GIF, in this process: without any
   writer (decode only), through the overlapped pipeline, and through the plain loop; export
   overhead = (with writer − decode only) / decode only. And the real ``morphapp render`` command
   (a subprocess: imports and model load included) with its wall time and peak RSS (VmHWM).
4. Peak RSS of a long 1024² render (``--big-frames``) and of a short one, to show it is flat.

Only measures and prints; nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import (  # a sibling script, not a package
    PAIRS_DIR,
    PeakRssWatcher,
    cpu_model,
    load_line,
    naive_variant,
    photo,
)

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import render_frames
from morphapp.core.render.pipeline import write_frames
from morphapp.export import open_writer
from morphapp.models import taesd
from morphapp.models.backend import choose, open_codec
from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.onnx_codec import OnnxCodec, onnxruntime_available
from morphapp.models.tae_codec import TaeCodec

CPU = torch.device("cpu")
Transform = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- peak and FLOPs


def gemm_peak_gflops(n: int = 3072, repeats: int = 3) -> dict[str, float]:
    """Best GFLOP/s of an n x n x n matmul: torch fp32, numpy fp32, torch bf16."""
    out: dict[str, float] = {}
    flop = 2.0 * n**3
    a32, b32 = torch.randn(n, n), torch.randn(n, n)
    cases: dict[str, Callable[[], object]] = {
        "torch fp32": lambda: a32 @ b32,
        "numpy fp32": lambda: a32.numpy() @ b32.numpy(),
    }
    abf, bbf = a32.bfloat16(), b32.bfloat16()
    cases["torch bf16"] = lambda: abf @ bbf
    for name, fn in cases.items():
        fn()  # warm-up
        best = min(_seconds(fn) for _ in range(repeats))
        out[name] = flop / best / 1e9
    return out


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conv_gflop(net: nn.Module, example: torch.Tensor) -> float:
    """FLOPs (2 x MACs) of every Conv2d in one forward pass, counted with hooks."""
    total = 0.0

    def hook(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Conv2d)
        kh, kw = module.kernel_size
        macs = output.numel() * (module.in_channels // module.groups) * kh * kw
        total += 2.0 * macs

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(example)
    finally:
        for h in handles:
            h.remove()
    return total / 1e9


# --------------------------------------------------------------------------- codec table


def variants(info: ModelInfo) -> dict[str, tuple[Transform, Transform]]:
    naive = naive_variant(info)
    found: dict[str, tuple[Transform, Transform]] = {"naive": (naive.encode, naive.decode)}
    for label, dtype in (("torch fp32", torch.float32), ("torch bf16", torch.bfloat16)):
        codec = TaeCodec(info, CPU, dtype)
        found[label] = (codec.encode, codec.decode)
    if onnxruntime_available():
        onnx = OnnxCodec(info, CPU)
        found["onnx fp32"] = (onnx.encode, onnx.decode)
    return found


def codec_table(info: ModelInfo, sizes: Sequence[int], repeats: int, peak: float) -> tuple[str, float]:
    """The encode/decode table, and the naive decode ms at the first size (for the render rows)."""
    found = variants(info)
    enc_net, _ = taesd.load_network("encoder", TaeCodec._states(info)[0])  # type: ignore[arg-type]
    dec_net, _ = taesd.load_network("decoder", TaeCodec._states(info)[1])
    lines = [
        "| size | variant | encode ms | decode ms | encode x naive | decode x naive "
        "| decode GFLOP/s | decode % of fp32 GEMM peak | encode GFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    naive_decode_first = 0.0
    for size in sizes:
        image = photo(PAIRS_DIR / "cat.png", size)
        latent = found["torch fp32"][0](image)
        scale = (size / 64) ** 2  # every conv's work grows with the area: count at 64², scale
        enc_gflop = conv_gflop(enc_net, torch.zeros(1, 3, 64, 64)) * scale
        dec_gflop = conv_gflop(dec_net, torch.zeros(1, latent.shape[1], 8, 8)) * scale
        times: dict[str, dict[str, list[float]]] = {k: {"enc": [], "dec": []} for k in found}
        for enc, dec in found.values():  # warm-up: first calls pick kernels, allocate
            enc(image), dec(latent)
        names = list(found)
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
                enc, dec = found[name]
                times[name]["enc"].append(_seconds(lambda e=enc, x=image: e(x)) * 1000)
                times[name]["dec"].append(_seconds(lambda d=dec, z=latent: d(z)) * 1000)
        base = times["naive"]
        if not naive_decode_first:
            naive_decode_first = statistics.median(base["dec"])
        for name in names:
            enc_ms, dec_ms = statistics.median(times[name]["enc"]), statistics.median(times[name]["dec"])
            enc_x = statistics.median(b / v for b, v in zip(base["enc"], times[name]["enc"], strict=True))
            dec_x = statistics.median(b / v for b, v in zip(base["dec"], times[name]["dec"], strict=True))
            dec_rate = dec_gflop / (dec_ms / 1000)
            lines.append(
                f"| {size}² | {name} | {enc_ms:.0f} | {dec_ms:.0f} | {enc_x:.2f}x | {dec_x:.2f}x "
                f"| {dec_rate:.0f} | {100 * dec_rate / peak:.0f}% | {enc_gflop / (enc_ms / 1000):.0f} |"
            )
        lines.append(f"|  | *FLOPs at {size}²* | {enc_gflop:.1f} GFLOP | {dec_gflop:.1f} GFLOP | | | | | |")
    return "\n".join(lines), naive_decode_first


# --------------------------------------------------------------------------- render table


def render_rows(info: ModelInfo, frames: int, size: int, out_dir: Path, naive_ms: float) -> str:
    choice = choose(info, CPU)
    codec = open_codec(info, CPU, choice)
    keys = [Keyframe(PAIRS_DIR / "cat.png"), Keyframe(PAIRS_DIR / "dog.png")]
    settings = MorphSettings(size=(size, size), frames=frames)

    def frames_iter():  # type: ignore[no-untyped-def]
        return render_frames(keys, codec, settings)

    list(render_frames(keys, codec, MorphSettings(size=(size, size), frames=2)))  # warm-up, encodes
    timings: dict[str, float] = {}
    start = time.perf_counter()
    for _ in frames_iter():
        pass
    timings["decode only"] = time.perf_counter() - start
    for ext in ("mp4", "gif"):
        start = time.perf_counter()
        with open_writer(out_dir / f"piped.{ext}", fps=24) as writer:
            write_frames(frames_iter(), writer, threaded=True)
        timings[f"{ext}, overlapped pipeline"] = time.perf_counter() - start
        start = time.perf_counter()
        with open_writer(out_dir / f"plain.{ext}", fps=24) as writer:
            for frame in frames_iter():
                writer.write(frame.pixels)
        timings[f"{ext}, plain loop"] = time.perf_counter() - start
    base = timings["decode only"]
    lines = [
        f"Codec: {choice.describe()}",
        "",
        f"| {frames} frames at {size}², in-process | wall s | ms/frame | export overhead "
        f"| x naive decode {size}² |",
        "|---|---|---|---|---|",
    ]
    for name, seconds in timings.items():
        over = "" if name == "decode only" else f"{100 * (seconds - base) / base:+.1f}%"
        ms = 1000 * seconds / frames
        lines.append(f"| {name} | {seconds:.1f} | {ms:.0f} | {over} | {naive_ms / ms:.2f}x faster |")
    return "\n".join(lines)


def cli_run(frames: int, size: int, out: Path, extra: Sequence[str] = ()) -> tuple[float, float | None]:
    command = [
        sys.executable, "-m", "morphapp", "render", str(PAIRS_DIR / "cat.png"), str(PAIRS_DIR / "dog.png"),
        "-o", str(out), "--frames", str(frames), "--size", f"{size}x{size}", "--device", "cpu", "-q", *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    watcher = PeakRssWatcher(proc.pid)
    _, err = proc.communicate()
    peak = watcher.stop()
    if proc.returncode != 0:
        raise SystemExit(f"morphapp render failed: {err}")
    return time.perf_counter() - start, peak


def cli_rows(frames: int, size: int, out_dir: Path, naive_ms: float, big: Sequence[int]) -> str:
    lines = [
        "| `morphapp render` (subprocess, all included) | wall s | ms/frame | x naive decode 512² "
        "| peak RSS MiB |",
        "|---|---|---|---|---|",
    ]
    for ext in ("mp4", "gif"):
        wall, peak = cli_run(frames, size, out_dir / f"cli.{ext}")
        ms = 1000 * wall / frames
        lines.append(
            f"| {frames} frames {size}² → {ext.upper()} | {wall:.1f} | {ms:.0f} "
            f"| {naive_ms / ms:.2f}x faster | {peak or 0:.0f} |"
        )
    for count in big:
        wall, peak = cli_run(count, 1024, out_dir / f"big{count}.mp4")
        lines.append(
            f"| {count} frames 1024² → MP4 | {wall:.1f} | {1000 * wall / count:.0f} | | {peak or 0:.0f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="512,1024")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--big-frames", default="12,600", help="1024² MP4 render lengths for the RSS rows")
    p.add_argument("--model", default=None)
    p.add_argument("--skip", default="", help="comma list of parts to skip: codec,render,cli")
    p.add_argument("--quick", action="store_true", help="512² only, 2 repeats, 12 frames, no 1024² renders")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.frames, args.big_frames = "512", 2, 12, ""
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = find_model(args.model)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    big = [int(s) for s in args.big_frames.split(",") if s]
    skip = set(args.skip.split(","))
    import onnxruntime

    print(
        f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}; "
        f"model {info.name}\n{load_line('start')}\n"
    )
    peaks = gemm_peak_gflops()
    peak = max(peaks["torch fp32"], peaks["numpy fp32"])
    print("| GEMM 3072³ | GFLOP/s |\n|---|---|")
    for name, value in peaks.items():
        print(f"| {name} | {value:.0f} |")
    print(flush=True)
    naive_ms = 0.0
    if "codec" not in skip:
        table, naive_ms = codec_table(info, sizes, args.repeats, peak)
        print(table + "\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="morphapp-bench-") as tmp:
        if "render" not in skip:
            print(render_rows(info, args.frames, 512, Path(tmp), naive_ms or float("nan")) + "\n", flush=True)
        if "cli" not in skip:
            print(cli_rows(args.frames, 512, Path(tmp), naive_ms or float("nan"), big) + "\n", flush=True)
    print(load_line("end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
