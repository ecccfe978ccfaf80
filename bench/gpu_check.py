"""The GPU path in one run: the cuda tests, TAEF2 on CUDA, full-size SD 1.5 / SDXL morphs, DIFT matching.

    bash bench/gpu_check.sh                                       # on a lent GPU: about 6-8 minutes
    python bench/gpu_check.py --device cpu --small --json X.json  # the rehearsal on a CPU: 2-3 minutes

Sections, each timed and kept apart (one that fails is reported with its error and the rest go on;
the JSON is rewritten after each, so a run cut short still leaves what it measured):

- ``tests``: ``pytest -m cuda tests/cuda`` in a subprocess (on the CPU: ``MORPHAPP_GPU_TESTS_ON=cpu``).
- ``taef2``: a 9-frame TAEF2 render on the device (fp32, and what ``--backend auto`` picks) against
  the CPU's float32 render (PSNR, worst frame); decode frames per second at 512² and 1024² for fp32,
  fp16, bf16 and the auto choice, against a naive eager float32 loop timed round-robin in the same run.
- ``sd15`` / ``sdxl``: a random-weight pipeline of the full published size (bench/sd_configs.py) saved
  and loaded through morphapp's loader; a 16-frame morph of two photos, 25 steps (512² / 1024²): seconds
  for both keyframes (made before the frame clock starts), per in-between and in all, peak GPU memory,
  the attention store's plan and the bytes really stored per keyframe, non-finite UNet values; then the
  store's other placement (SD 1.5: offloaded to CPU memory; SDXL, whose 1024² store is offloaded by
  default: on the GPU with a 16 GiB budget), when time is left.
- ``dift``: ``semantic_align`` (the ``--align-model`` path) with the SD 1.5 model on the device.
- ``ladder``: last, a freshly loaded SD 1.5 under a memory cap 64 MiB over its weights (256², 3 frames,
  2 steps): the out-of-memory ladder must step down and finish (its last rung moves a model to the CPU
  for good, hence a model of its own).

Random weights give pictures of noise: the figures are time, memory and the code path, not quality.
Only measures and prints; nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from sd_configs import build_random_pipeline  # noqa: E402

from morphapp.core.domain.diffusion_settings import DiffusionSettings  # noqa: E402
from morphapp.core.domain.keyframes import Keyframe  # noqa: E402
from morphapp.core.domain.settings import MorphSettings  # noqa: E402
from morphapp.core.imaging.load import load_image  # noqa: E402
from morphapp.core.imaging.quality import psnr  # noqa: E402
from morphapp.core.render.frames import render_frames, to_tensor  # noqa: E402
from morphapp.models import taesd  # noqa: E402
from morphapp.models.backend import choose, open_codec  # noqa: E402
from morphapp.models.discovery import ModelInfo, find_model  # noqa: E402
from morphapp.models.tae_codec import TaeCodec  # noqa: E402
from morphapp.models.weights import load_state_dict  # noqa: E402

GIB = 2**30
Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big each section runs: the real figures on a GPU, a rehearsal of the code on a CPU."""

    decode_sizes: tuple[int, ...]
    decode_repeats: int
    render_side: int
    sd_side: int
    sdxl_side: int
    frames: int
    steps: int
    tiny: bool  # the tiny test pipelines instead of the full-size random ones


FULL = Scale((512, 1024), 20, 512, 512, 1024, 16, 25, tiny=False)
SMALL = Scale((128, 256), 3, 128, 64, 64, 4, 4, tiny=True)


class Report:
    """The run's findings, rewritten to ``path`` (atomically) after every section."""

    def __init__(self, path: Path | None, device: torch.device, scale: Scale) -> None:
        self.path = path
        # The GPU's name is read after the tests section: no CUDA context in this process before pytest's.
        self.data: dict[str, Any] = {"machine": {"device": str(device)}, "scale": dataclasses.asdict(scale)}
        self.data["sections"] = {}

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[Row]:
        entry: Row = {"status": "running"}  # what a run killed mid-section leaves in the JSON
        self.data["sections"][name] = entry
        self.save()
        started = time.perf_counter()
        print(f"\n## {name}", flush=True)
        try:
            yield entry
            entry["status"] = "ok" if entry["status"] == "running" else entry["status"]
        except Exception as exc:  # reported, and the next section runs
            entry.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            print(f"FAILED: {entry['error']}", flush=True)
        finally:
            entry["seconds"] = round(time.perf_counter() - started, 1)
            self.save()

    def skipped(self, name: str, why: str) -> None:
        self.data["sections"][name] = {"status": "skipped", "why": why}
        print(f"\n## {name}\nskipped: {why}", flush=True)
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(self.data, indent=1, default=str))
        temp.replace(self.path)


def machine(device: torch.device) -> Row:
    found: Row = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        found.update(gpu=props.name, gpu_gib=round(props.total_memory / GIB, 1), cuda=torch.version.cuda)
    return found


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gib(device: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / GIB, 2) if device.type == "cuda" else None


def reset_peak(device: torch.device) -> None:
    # A finished DiffusionMorpher sits in a reference cycle (its ladder holds its bound method) with
    # its attention store: collect it, or its GPU memory counts in the next row's peak.
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def table(rows: list[Row], columns: list[str]) -> None:
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |", flush=True)


# --------------------------------------------------------------------------------------- tests


def cuda_tests(entry: Row, device: torch.device, pairs: Path, log: Path | None) -> None:
    env = dict(os.environ, MORPHAPP_SHARED=str(pairs.parents[1]))
    if device.type != "cuda":
        env["MORPHAPP_GPU_TESTS_ON"] = "cpu"
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "tests/cuda"]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired as exc:
        if log is not None:
            log.write_text(str(exc.stdout or "") + str(exc.stderr or ""))
        raise
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    lines = done.stdout.strip().splitlines()
    entry.update(exit_code=done.returncode, summary=lines[-1] if lines else done.stderr[-500:])
    if done.returncode != 0:
        entry.update(status="failed", output=(done.stdout + done.stderr)[-4000:])
    print(entry["summary"])


# --------------------------------------------------------------------------------------- TAEF2


def taef2_render(entry: Row, info: ModelInfo, device: torch.device, pairs: Path, scale: Scale) -> None:
    keys = [Keyframe(pairs / "cat.png"), Keyframe(pairs / "dog.png")]
    settings = MorphSettings(size=(scale.render_side, scale.render_side), frames=9)
    cpu = torch.device("cpu")
    expected = [f.pixels for f in render_frames(keys, TaeCodec(info, cpu, torch.float32), settings)]
    choice = choose(info, device, recalibrate=True)
    entry["auto_choice"] = choice.describe()
    rows = []
    for label, codec in (
        ("fp32", TaeCodec(info, device, torch.float32)),
        ("auto", open_codec(info, device, choice)),
    ):
        started = time.perf_counter()
        frames = [f.pixels for f in render_frames(keys, codec, settings)]
        seconds = time.perf_counter() - started
        worst = min(psnr(f, e) for f, e in zip(frames, expected, strict=True))
        rows.append(
            {"codec": label, "frames": len(frames), "worst_psnr_db": round(worst, 1), "s": round(seconds, 2)}
        )
    entry["render_vs_cpu"] = rows
    table(rows, ["codec", "frames", "worst_psnr_db", "s"])


def taef2_decode(entry: Row, info: ModelInfo, device: torch.device, pairs: Path, scale: Scale) -> None:
    _, decoder_state = taesd.split_combined(load_state_dict(info.decoder)) if info.combined else (
        None, load_state_dict(info.decoder)
    )  # fmt: skip
    naive_net, _ = taesd.load_network("decoder", decoder_state)
    naive_net = naive_net.to(device).eval()

    def naive(latent: torch.Tensor) -> torch.Tensor:
        # Clamped and copied to the CPU as TaeCodec.decode returns its frames: the same work per frame.
        with torch.no_grad():
            return naive_net(latent.float()).clamp_(0, 1).cpu()

    choice = choose(info, device)
    codecs: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"naive fp32": naive}
    for label, dtype in (("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        codecs[label] = TaeCodec(info, device, dtype).decode
    codecs[f"auto ({choice.label})"] = open_codec(info, device, choice).decode
    rows = []
    for side in scale.decode_sizes:
        image = to_tensor(load_image(pairs / "cat.png", (side, side)).pixels).to(device)
        latent = TaeCodec(info, device, torch.float32).encode(image).to(device)  # encode returns CPU
        times: dict[str, list[float]] = {name: [] for name in codecs}
        for decode in codecs.values():  # warm-up: kernels chosen, memory allocated
            for _ in range(2):
                decode(latent)
        sync(device)
        for repeat in range(scale.decode_repeats):  # round-robin, the order rotated each time
            names = list(codecs)
            names = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in names:
                started = time.perf_counter()
                codecs[name](latent)
                sync(device)
                times[name].append(time.perf_counter() - started)
        naive_ms = statistics.median(times["naive fp32"]) * 1000
        for name, samples in times.items():
            ms = statistics.median(samples) * 1000
            rows.append({"size": f"{side}²", "decode": name, "ms": round(ms, 2), "fps": round(1000 / ms, 1),
                         "vs_naive": f"{naive_ms / ms:.2f}x"})  # fmt: skip
    entry["decode"] = rows
    table(rows, ["size", "decode", "ms", "fps", "vs_naive"])


# --------------------------------------------------------------------------------------- diffusion


def stored_bytes(morpher: Any, index: int) -> int:
    state = morpher.keyframe_state(index)
    return int(sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in state.kv.values()))


def diffusion_morph(model: Any, pairs: Path, side: int, frames: int, steps: int) -> Row:
    """One image-to-image morph; the seconds, the peak memory and the attention store's plan and size.

    Both keyframes (inversion, then the recorded denoise) are made before the frame clock starts, so
    ``keyframes_s`` is their whole cost and ``per_inbetween_s`` the in-betweens' alone.
    """
    from morphapp.diffusion.morph import DiffusionMorpher
    from morphapp.diffusion.render import render_diffusion_frames

    keys = [Keyframe(pairs / "cat.png"), Keyframe(pairs / "dog.png")]
    settings = MorphSettings(size=(side, side), frames=frames, diffusion=DiffusionSettings(steps=steps))
    notes: list[str] = []
    reset_peak(model.device)
    non_finite = torch.zeros((), dtype=torch.int64, device=model.device)

    def count_non_finite(_module: Any, _args: Any, output: Any) -> None:
        # Random full-size weights in float16 could overflow; counted on the device (no sync per call).
        out = output[0] if isinstance(output, tuple) else getattr(output, "sample", output)
        non_finite.add_((~torch.isfinite(out)).sum())

    hook = model.unet.register_forward_hook(count_non_finite)
    try:
        started = time.perf_counter()
        morpher = DiffusionMorpher(model, keys, settings, note=notes.append)
        morpher.prepare({0, 1})
        stored = stored_bytes(morpher, 0)
        morpher.keyframe_state(1)
        sync(model.device)
        keyframes_done = time.perf_counter()
        marks: list[float] = []
        pixels = []
        for frame in render_diffusion_frames(keys, model, settings, morpher=morpher, note=notes.append):
            sync(model.device)
            marks.append(time.perf_counter())
            pixels.append(frame.pixels)
    finally:
        hook.remove()
    inner = max(1, len(marks) - 2)
    row = {
        "frames": len(pixels),
        "keyframes_s": round(keyframes_done - started, 2),
        "per_inbetween_s": round((marks[-2] - marks[0]) / inner, 3),
        "total_s": round(marks[-1] - started, 2),
        "peak_gib": peak_gib(model.device),
        "plan": morpher.attn_plan.describe(),
        "stored_mib_per_keyframe": round(stored / 2**20, 1),
        "planned_mib_per_keyframe": round(morpher.attn_plan.bytes_per_keyframe / 2**20, 1),
        "distinct_frames": len({p.tobytes() for p in pixels}),
        "non_finite_unet_values": int(non_finite.item()),
        "ladder_rung": morpher.ladder.rung_name,
        "ran_on": f"{model.device.type} {str(model.dtype).removeprefix('torch.')}",
        "notes": [n for n in notes if not n.startswith("attention store")][:8],
    }
    del morpher  # its attention store goes with the next reset_peak's collection
    return row


@contextlib.contextmanager
def memory_cap(device: torch.device, headroom: int) -> Iterator[None]:
    """Cap the GPU's memory at what is held now plus ``headroom`` bytes."""
    gc.collect()
    sync(device)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(
        min(1.0, (torch.cuda.memory_reserved(device) + headroom) / total)
    )
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


MORPH_COLUMNS = [
    "variant", "frames", "keyframes_s", "per_inbetween_s", "total_s", "peak_gib", "stored_mib_per_keyframe",
    "planned_mib_per_keyframe", "distinct_frames", "non_finite_unet_values", "ladder_rung", "ran_on",
]  # fmt: skip


def print_morphs(rows: list[Row]) -> None:
    table(rows, MORPH_COLUMNS)
    for row in rows:
        print(f"- {row['variant']}: {row['plan']}; {'; '.join(row['notes']) or 'no notes'}")


def pipeline_folder(family: str, device: torch.device, scale: Scale, work: Path) -> Path:
    if scale.tiny:
        from tests.diffusion.tiny_sd import build_tiny_sd, build_tiny_sdxl

        return (build_tiny_sdxl if family == "SDXL" else build_tiny_sd)(work / family.replace(" ", ""))
    return build_random_pipeline(family, work / family.replace(" ", ""), device, torch.float16)


def sd_section(
    entry: Row, family: str, device: torch.device, pairs: Path, scale: Scale, work: Path, deadline: float
) -> tuple[Any, Path]:
    """Build, load and morph one family; returns the model (on the device) and its folder."""
    from morphapp.diffusion.model import DiffusionModel

    side = scale.sdxl_side if family == "SDXL" else scale.sd_side
    started = time.perf_counter()
    folder = pipeline_folder(family, device, scale, work)
    entry["build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    model = DiffusionModel(find_model(str(folder)), device)
    entry.update(load_s=round(time.perf_counter() - started, 1), dtype=str(model.dtype), size=f"{side}²")
    entry["parameters_m"] = round(sum(p.numel() for p in model.unet.parameters()) / 1e6)
    diffusion_morph(model, pairs, side, 3, 2)  # warm-up: kernels chosen, memory allocated
    rows = [{"variant": "default", **diffusion_morph(model, pairs, side, scale.frames, scale.steps)}]
    entry["morphs"] = rows
    # The other placement of the attention store: offloaded for SD 1.5 (on the GPU by default at
    # 512²); on the GPU for SDXL (its 1024² store exceeds the default budget and is offloaded).
    other = ("store offloaded", 1) if family == "SD 1.5" else ("store on the GPU (16 GiB budget)", 16 * GIB)
    if not rows[0]["plan"].startswith("attention store: off") and time.monotonic() < deadline - 120:
        budget = model.attn_budget
        model.attn_budget = other[1]
        try:
            rows.append(
                {"variant": other[0], **diffusion_morph(model, pairs, side, scale.frames, scale.steps)}
            )
        finally:
            model.attn_budget = budget
    print_morphs(rows)
    return model, folder


def ladder_section(entry: Row, folder: Path, device: torch.device, pairs: Path) -> None:
    """A short SD 1.5 morph under a real memory cap (64 MiB over the weights): the ladder must finish.

    Its own freshly loaded model, as the ladder's last rung moves the model to the CPU for good.
    """
    from morphapp.diffusion.model import DiffusionModel

    model = DiffusionModel(find_model(str(folder)), device)
    with memory_cap(device, 64 * 2**20):
        rows = [
            {"variant": "memory cap, 256², 3 frames, 2 steps", **diffusion_morph(model, pairs, 256, 3, 2)}
        ]
    entry["morphs"] = rows
    print_morphs(rows)
    if rows[0]["ladder_rung"] == "as loaded":
        entry["status"] = "failed"
        entry["error"] = "the cap did not force the ladder: nothing was measured"


def dift_section(entry: Row, model: Any, pairs: Path, side: int) -> None:
    from morphapp.diffusion.features import semantic_align

    rows = []
    for a, b in (("cat.png", "dog.png"), ("lion.png", "tiger.png")):
        pa, pb = (load_image(pairs / name, (side, side)).pixels for name in (a, b))
        started = time.perf_counter()
        result = semantic_align(model, pa, pb)
        sync(model.device)
        seconds = time.perf_counter() - started
        rows.append({
            "pair": f"{a[:-4]}/{b[:-4]}", "points": len(result.points), "s": round(seconds, 2),
            "before_db": round(result.psnr_before, 2), "after_db": round(result.psnr_after, 2),
        })  # fmt: skip
    entry["pairs"] = rows
    entry["ran_on"] = f"{model.device.type} {str(model.dtype).removeprefix('torch.')}"
    table(rows, ["pair", "points", "before_db", "after_db", "s"])


# --------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda", help="cuda (the check) or cpu (the rehearsal)")
    parser.add_argument("--small", action="store_true", help="tiny sizes and pipelines: the CPU rehearsal")
    parser.add_argument("--pairs", type=Path, default=ROOT.parent / "shared" / "testdata" / "pairs")
    parser.add_argument(
        "--full-models", action="store_true", help="with --small: the full-size random pipelines all the same"
    )
    parser.add_argument("--json", type=Path, help="write the findings here (after every section)")
    parser.add_argument("--only", help="comma-separated sections (tests,taef2,sd15,dift,sdxl,ladder)")
    parser.add_argument("--budget-s", type=float, default=480, help="optional rows are left out past this")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget_s
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: run with --device cpu --small to rehearse", file=sys.stderr)
        return 2
    scale = SMALL if args.small else FULL
    if args.full_models:
        scale = dataclasses.replace(scale, tiny=False)
    wanted = set((args.only or "tests,taef2,sd15,dift,sdxl,ladder").split(","))
    report = Report(args.json, device, scale)
    info = find_model("taef2")
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    if "tests" in wanted:
        with report.section("tests") as entry:
            log = args.json.with_name("pytest.log") if args.json else None
            cuda_tests(entry, device, args.pairs, log)
    report.data["machine"] = machine(device)  # CUDA starts in this process only now
    print(f"# morphapp GPU check: {report.data['machine']}")
    if "taef2" in wanted:
        with report.section("taef2 render") as entry:
            taef2_render(entry, info, device, args.pairs, scale)
        with report.section("taef2 decode") as entry:
            taef2_decode(entry, info, device, args.pairs, scale)
    sd15: tuple[Any, Path] | None = None
    if wanted & {"sd15", "dift", "ladder"}:
        with report.section("sd15") as entry:
            sd15 = sd_section(entry, "SD 1.5", device, args.pairs, scale, work, deadline)
    if "dift" in wanted:
        if sd15 is None:
            report.skipped("dift", "no SD 1.5 model (its section failed)")
        else:
            with report.section("dift") as entry:
                dift_section(entry, sd15[0], args.pairs, scale.sd_side)
    folder = sd15[1] if sd15 is not None else None
    sd15 = None
    reset_peak(device)  # the SD 1.5 weights leave the GPU before SDXL's arrive
    if "sdxl" in wanted:
        with report.section("sdxl") as entry:
            sd_section(entry, "SDXL", device, args.pairs, scale, work, deadline)
        reset_peak(device)
    if "ladder" in wanted:
        if device.type != "cuda":
            report.skipped("ladder", "the memory cap is CUDA's")
        elif folder is None:
            report.skipped("ladder", "no SD 1.5 model (its section failed)")
        else:
            with report.section("ladder") as entry:
                ladder_section(entry, folder, device, args.pairs)
    failed = [name for name, entry in report.data["sections"].items() if entry["status"] == "failed"]
    print(f"\nsections failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
