"""Benchmark the morph engine on this machine and print Markdown tables.

    MORPHAPP_MODEL_PATH=/path/to/models python bench/bench_engine.py [--sizes 512,1024]
        [--repeats 5] [--frames 48] [--render-repeats 3] [--backend auto] [--precision auto] [--quick]

Part 1 times TAE encode and decode of one real photo per call for three variants, interleaved
round-robin in one process so load from other work hits them alike:

* ``naive``: the same weights as a plain eager float32 NCHW ``nn.Sequential`` built by
  ``taesd.load_network``, called under ``torch.no_grad()``: the baseline.
* ``morphapp fp32`` / ``morphapp bf16``: ``TaeCodec`` as the app uses it (channels_last,
  inference_mode, NaN check, clamp, copy back to float32 NCHW).

Part 2 renders the first image into the second to MP4 at 512x512, alternating two paths: the
engine as ``morphapp render`` drives it (backend choice, model load, keyframe encodes,
``render_frames`` into ``open_writer`` through the overlapped pipeline) in a fresh worker
process, and the ``morphapp render`` CLI as a subprocess, so interpreter and import start-up show.

Nothing here asserts on timings: it measures and prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from morphapp.core.domain.choices import BACKEND_CHOICES, PRECISION_CHOICES
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import render_frames, to_tensor
from morphapp.core.render.pipeline import write_frames
from morphapp.export import open_writer
from morphapp.models import taesd
from morphapp.models.backend import Choice, choose, open_codec
from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec
from morphapp.models.weights import StateDict, load_state_dict

PAIRS_DIR = Path(
    os.environ.get(
        "MORPHAPP_BENCH_PAIRS", Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"
    )
)
CPU = torch.device("cpu")
RENDER_SIZE = 512

Transform = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- variants


@dataclass
class Variant:
    name: str
    encode: Transform
    decode: Transform


def _tae_states(info: ModelInfo) -> tuple[StateDict, StateDict]:
    if info.combined:
        encoder, decoder = taesd.split_combined(load_state_dict(info.decoder))
    else:
        if info.encoder is None:
            raise SystemExit(f"{info.name}: has no encoder weights; the benchmark needs both halves")
        encoder, decoder = load_state_dict(info.encoder), load_state_dict(info.decoder)
    return encoder, decoder


def _no_grad_call(net: nn.Module) -> Transform:
    def call(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x)

    return call


def naive_variant(info: ModelInfo) -> Variant:
    """Eager float32 NCHW nn.Sequential, torch.no_grad(): the baseline."""
    encoder_state, decoder_state = _tae_states(info)
    encoder, _ = taesd.load_network("encoder", encoder_state)
    decoder, _ = taesd.load_network("decoder", decoder_state)
    return Variant("naive", _no_grad_call(encoder), _no_grad_call(decoder))


def codec_variant(info: ModelInfo, dtype: torch.dtype) -> Variant:
    codec = TaeCodec(info, CPU, dtype)
    label = {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype))
    return Variant(f"morphapp {label}", codec.encode, codec.decode)


# --------------------------------------------------------------------------- codec timing


@dataclass
class CodecRow:
    variant: str
    size: int
    encode_ms: list[float] = field(default_factory=list)
    decode_ms: list[float] = field(default_factory=list)
    psnr_decode: float | None = None  # bf16 decode vs fp32 decode of the same latent
    psnr_roundtrip: float | None = None  # bf16 encode+decode vs fp32 encode+decode

    @property
    def encode(self) -> float:
        return statistics.median(self.encode_ms)

    @property
    def decode(self) -> float:
        return statistics.median(self.decode_ms)


def paired_speedup(baseline_ms: Sequence[float], variant_ms: Sequence[float]) -> float:
    """Median over repeats of baseline/variant, both timed seconds apart in the same round.

    Steadier than a ratio of medians when other work on the machine comes and goes.
    """
    return statistics.median(b / v for b, v in zip(baseline_ms, variant_ms, strict=True))


@dataclass
class SizeChecks:
    size: int
    naive_vs_fp32_max_abs: float  # decode outputs, both clamped to [0, 1]
    fp32_roundtrip_vs_photo_psnr: float  # what the TAE itself costs, for scale


def timed_ms(fn: Transform, x: torch.Tensor) -> float:
    start = time.perf_counter()
    fn(x)
    return (time.perf_counter() - start) * 1000.0


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0, 1]."""
    mse = torch.mean((a.float().clamp(0, 1) - b.float().clamp(0, 1)) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def photo(path: Path, size: int) -> torch.Tensor:
    return to_tensor(load_image(path, (size, size)).pixels)


def bench_size(
    variants: Sequence[Variant], image: torch.Tensor, repeats: int
) -> tuple[list[CodecRow], SizeChecks]:
    """Time every variant at one size, round-robin; fill in bf16 quality and sanity checks."""
    size = image.shape[-1]
    by_name = {v.name: v for v in variants}
    fp32, bf16, naive = by_name["morphapp fp32"], by_name["morphapp bf16"], by_name["naive"]
    latent = fp32.encode(image)  # the decode input for every variant: a real photo's latent

    reference = fp32.decode(latent)
    for variant in variants:  # warm-up: one call each, untimed
        variant.decode(latent)
        variant.encode(image)

    rows = {v.name: CodecRow(v.name, size) for v in variants}
    for round_ in range(repeats):
        shift = round_ % len(variants)  # rotate the order so no variant always runs first
        for variant in [*variants[shift:], *variants[:shift]]:
            rows[variant.name].encode_ms.append(timed_ms(variant.encode, image))
            rows[variant.name].decode_ms.append(timed_ms(variant.decode, latent))

    bf16_row = rows[bf16.name]
    bf16_row.psnr_decode = psnr(bf16.decode(latent), reference)
    bf16_row.psnr_roundtrip = psnr(bf16.decode(bf16.encode(image)), reference)
    checks = SizeChecks(
        size,
        (naive.decode(latent).clamp(0, 1) - reference).abs().max().item(),
        psnr(reference, image),
    )
    return [rows[v.name] for v in variants], checks


# --------------------------------------------------------------------------- render timing


@dataclass
class RenderRun:
    wall_s: float
    cpu_s: float  # user + system CPU time of the timed span (all threads)
    first_frame_s: float | None
    frames: int
    peak_rss_mib: float
    codec: str  # the engine's backend and precision, and how chosen; "" for the CLI (-q says nothing)


def _rss_to_mib(maxrss: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def vm_hwm_mib(pid: int | str = "self") -> float | None:
    """Peak RSS of a live process's own memory (VmHWM), or None where /proc cannot tell.

    Preferred to ru_maxrss for children: Linux carries the parent's high-water mark across
    fork/vfork + exec into the child's ru_maxrss, so a child of this (large) benchmark process
    would report the benchmark's peak instead of its own.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class PeakRssWatcher:
    """Sample a child's VmHWM from a thread until stopped; keeps the largest value seen."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.peak_mib: float | None = None
        self._pid = pid
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = vm_hwm_mib(self._pid)
            if sample is not None:
                self.peak_mib = max(sample, self.peak_mib or 0.0)
            self._stop.wait(self._interval)

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.peak_mib


def _cpu_s(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class RenderJob:
    """One morph to render, the same for both paths (picklable: it crosses into the worker)."""

    first: Path
    second: Path
    frames: int
    model: str | None
    backend: str  # as --backend: auto, torch, onnx
    precision: str  # as --precision: auto, fp32, bf16, fp16
    size: int = RENDER_SIZE


def render_in_process(job: RenderJob, out: Path) -> RenderRun:
    """The engine path as ``morphapp render`` drives it, without the CLI: backend choice, model
    load, keyframe encodes, frames through the overlapped writer pipeline, commit.

    Runs in a fresh worker process so its peak RSS is the render's alone.
    """
    settings = MorphSettings(size=(job.size, job.size), frames=job.frames)
    keyframes = [Keyframe(job.first), Keyframe(job.second)]
    first_frame: list[float] = []  # when the writer thread finished the first frame
    cpu_start = _cpu_s(resource.getrusage(resource.RUSAGE_SELF))
    start = time.perf_counter()
    info = find_model(job.model)
    choice = choose(info, CPU, job.backend, job.precision)
    codec = open_codec(info, CPU, choice)
    with open_writer(out, fps=settings.fps, frame_count=job.frames) as writer:
        frames = render_frames(keyframes, codec, settings)
        write_frames(frames, writer, on_written=_stamp_first(first_frame))
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = vm_hwm_mib() or _rss_to_mib(usage.ru_maxrss)
    first = first_frame[0] - start if first_frame else None
    label = f"{choice.label}, {choice.how}"
    return RenderRun(wall, _cpu_s(usage) - cpu_start, first, writer.frames_written, peak, label)


def _stamp_first(times: list[float]) -> Callable[[object], None]:
    def stamp(_frame: object) -> None:
        if not times:
            times.append(time.perf_counter())

    return stamp


def render_engine_once(job: RenderJob, out: Path) -> RenderRun:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        run = pool.submit(render_in_process, job, out).result()
    out.unlink()
    return run


def cli_command(job: RenderJob, out: Path) -> list[str]:
    script = Path(sys.executable).with_name("morphapp")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "morphapp"]
    command = [*launcher, "render", str(job.first), str(job.second), "-o", str(out)]
    command += ["--frames", str(job.frames), "--size", f"{job.size}x{job.size}", "--device", "cpu"]
    command += ["--backend", job.backend, "--precision", job.precision, "-q"]
    return [*command, "--model", job.model] if job.model else command


def render_cli_once(job: RenderJob, out: Path) -> RenderRun:
    """`morphapp render` as a subprocess: os.wait4 gives its CPU time, a watcher its peak RSS."""
    log = out.with_suffix(".log")
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cli_command(job, out), stdout=sink, stderr=sink)
        watcher = PeakRssWatcher(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        peak = watcher.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"morphapp render failed ({proc.returncode}):\n{log.read_text(errors='replace')}")
    out.unlink()
    # ru_maxrss is only a fallback: on Linux it includes this process's own peak (see vm_hwm_mib).
    return RenderRun(wall, _cpu_s(usage), None, job.frames, peak or _rss_to_mib(usage.ru_maxrss), "")


@dataclass
class RenderResults:
    engine: list[RenderRun] = field(default_factory=list)
    cli: list[RenderRun] = field(default_factory=list)
    naive_between_ms: list[float] = field(default_factory=list)  # naive 512² decodes between renders


def naive_decode_probe(naive: Variant, image: torch.Tensor) -> Callable[[], float]:
    """A timer of one naive decode of ``image``'s latent, warmed up."""
    latent = naive.encode(image)
    naive.decode(latent)
    return lambda: timed_ms(naive.decode, latent)


def render_both(job: RenderJob, repeats: int, probe: Callable[[], float]) -> RenderResults:
    """Alternate engine and CLI runs, so both see the same machine load.

    Before each run, ``probe`` times a naive decode: a baseline taken under the same load.
    """
    results = RenderResults()
    with tempfile.TemporaryDirectory(prefix="morphapp-bench-") as tmp:
        out = Path(tmp) / "morph.mp4"
        for _ in range(repeats):
            results.naive_between_ms.append(probe())
            results.engine.append(render_engine_once(job, out))
            results.naive_between_ms.append(probe())
            results.cli.append(render_cli_once(job, out))
    return results


# --------------------------------------------------------------------------- output


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header(args: argparse.Namespace, info: ModelInfo, choice: Choice) -> str:
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return "\n".join(
        [
            f"# morphapp engine benchmark ({now})",
            "",
            f"- torch {torch.__version__}, {torch.get_num_threads()} threads "
            f"({os.cpu_count()} logical CPUs), Python {platform.python_version()}",
            f"- CPU: {cpu_model()}; device: cpu (every row)",
            f"- model: {info.name} ({info.family}); sizes {args.sizes}; {args.repeats} timed repeats "
            f"after 1 warm-up, medians; {args.frames}-frame render, {args.render_repeats} run(s) each",
            f"- render backend (--backend {args.backend} --precision {args.precision}): {choice.describe()}",
            load_line("at the start"),
            "",
        ]
    )


def _fmt_psnr(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def codec_table(rows: Sequence[CodecRow]) -> str:
    lines = [
        "| variant | size | encode ms median (min) | decode ms median (min) | speed-up vs naive (decode) "
        "| speed-up vs naive (encode) | PSNR vs fp32, decode / round trip (dB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    naive = {r.size: r for r in rows if r.variant == "naive"}
    for r in rows:
        base = naive[r.size]
        quality = (
            f"{_fmt_psnr(r.psnr_decode)} / {_fmt_psnr(r.psnr_roundtrip)}" if r.psnr_decode is not None else ""
        )
        lines.append(
            f"| {r.variant} | {r.size}² | {r.encode:.0f} ({min(r.encode_ms):.0f}) "
            f"| {r.decode:.0f} ({min(r.decode_ms):.0f}) "
            f"| {paired_speedup(base.decode_ms, r.decode_ms):.2f}x "
            f"| {paired_speedup(base.encode_ms, r.encode_ms):.2f}x | {quality} |"
        )
    return "\n".join(lines)


def checks_lines(checks: Sequence[SizeChecks]) -> str:
    return "\n".join(
        f"- {c.size}²: naive vs morphapp fp32 decode max |diff| {c.naive_vs_fp32_max_abs:.1e}; "
        f"fp32 round trip vs the photo itself {c.fp32_roundtrip_vs_photo_psnr:.1f} dB (the TAE's own loss)"
        for c in checks
    )


def render_table(results: RenderResults, naive_table_ms: float | None) -> str:
    naive_between = statistics.median(results.naive_between_ms)
    lines = [
        "| path | wall s (median) | CPU s (median) | first frame s | ms/frame "
        "| x naive decode 512² (table) | x naive decode 512² (between renders) | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    engine_label = f"engine in-process ({results.engine[0].codec})"
    for label, runs in ((engine_label, results.engine), ("CLI subprocess (same flags)", results.cli)):
        wall = statistics.median(r.wall_s for r in runs)
        cpu = statistics.median(r.cpu_s for r in runs)
        per_frame = wall * 1000.0 / runs[0].frames
        ratio = f"{per_frame / naive_table_ms:.2f}x" if naive_table_ms else "n/a"
        firsts = [r.first_frame_s for r in runs if r.first_frame_s is not None]
        first = f"{statistics.median(firsts):.2f}" if firsts else "n/a"
        rss = max(r.peak_rss_mib for r in runs)
        lines.append(
            f"| {label} | {wall:.1f} | {cpu:.1f} | {first} | {per_frame:.0f} | {ratio} "
            f"| {per_frame / naive_between:.2f}x | {rss:.0f} |"
        )
    pairs = zip(results.engine, results.cli, strict=True)
    overhead = statistics.median(c.wall_s - e.wall_s for e, c in pairs)
    between = ", ".join(f"{ms:.0f}" for ms in results.naive_between_ms)
    lines += [
        "",
        f"CLI minus engine, median of paired runs (interpreter, imports, arguments): {overhead:+.1f} s",
        f"Naive 512² decodes timed between the renders: median {naive_between:.0f} ms ({between})",
    ]
    return "\n".join(lines)


def load_line(when: str) -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return f"- load average {when}: n/a"
    return f"- load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sizes", default="512,1024", help="square sizes for encode/decode (default 512,1024)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per variant and size (default 5)")
    p.add_argument("--frames", type=int, default=48, help="frames in the MP4 render (default 48)")
    p.add_argument("--render-repeats", type=int, default=3, help="runs of each render path (default 3)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto", help="render backend (default auto)")
    p.add_argument(
        "--precision", choices=PRECISION_CHOICES, default="auto", help="render precision (default auto)"
    )
    p.add_argument("--model", help="model name or path (default: the first found, as in the app)")
    p.add_argument(
        "--pair", nargs=2, type=Path, metavar=("FIRST", "SECOND"),
        default=(PAIRS_DIR / "cat.png", PAIRS_DIR / "dog.png"),
        help="keyframes; FIRST is also the photo for encode/decode and PSNR (default cat.png dog.png)",
    )  # fmt: skip
    p.add_argument("--quick", action="store_true", help="smoke run: 512 only, 2 repeats, 12 frames, 1 render")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.frames, args.render_repeats = "512", 2, 12, 1
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.repeats < 1 or args.render_repeats < 1 or args.frames < 2:
        p.error("--repeats and --render-repeats must be >= 1, --frames >= 2")
    for path in args.pair:
        if not path.is_file():
            p.error(f"{path}: not found (use --pair or MORPHAPP_BENCH_PAIRS)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = find_model(args.model)
    # As the CLI does: calibrates once per machine (cached), so no timed render pays for it.
    choice = choose(info, CPU, args.backend, args.precision)
    print(header(args, info, choice), flush=True)

    variants = [naive_variant(info), codec_variant(info, torch.float32), codec_variant(info, torch.bfloat16)]
    rows: list[CodecRow] = []
    checks: list[SizeChecks] = []
    for size in args.size_list:
        size_rows, size_checks = bench_size(variants, photo(args.pair[0], size), args.repeats)
        rows += size_rows
        checks.append(size_checks)
    print("## Encode / decode, one image per call, CPU\n")
    print(codec_table(rows))
    print("\nChecks:\n" + checks_lines(checks) + "\n", flush=True)
    probe = naive_decode_probe(variants[0], photo(args.pair[0], RENDER_SIZE))
    del variants  # frees the codecs; the probe keeps the naive decoder

    naive_512 = next((r.decode for r in rows if r.variant == "naive" and r.size == RENDER_SIZE), None)
    job = RenderJob(*args.pair, args.frames, args.model, args.backend, args.precision)
    results = render_both(job, args.render_repeats, probe)
    names = " → ".join(p.name for p in args.pair)
    print(f"## Render {names}, {args.frames} frames, {RENDER_SIZE}², default settings (slerp), MP4\n")
    print(render_table(results, naive_512))
    print("\n" + load_line("at the end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
