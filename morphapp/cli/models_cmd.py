"""``morphapp models``: list the models found; ``morphapp models pull NAME``: fetch a default one;
``morphapp models calibrate``: time the backends again and replace the cached verdict."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from morphapp.core.domain.choices import (
    BACKEND_CHOICES,
    CALIBRATION_MAX_AGE_DAYS,
    DEVICE_CHOICES,
    PRECISION_CHOICES,
)
from morphapp.models.registry import KNOWN_MODELS

if TYPE_CHECKING:
    from morphapp.models.discovery import ModelInfo
    from morphapp.models.library import PullProgress

# The model scan, the calibration and the download import torch (over a second): each command imports
# what it needs when it runs, so that building the parser (every `morphapp` call) stays light.

KIND_NAMES = {
    "tae": "tiny AE",
    "vae": "VAE",
    "checkpoint": "checkpoint",
    "unet": "UNet",
    "diffusers": "diffusers",
    "onnx": "ONNX",
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("models", help="list the models found, or pull a default one")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    pull_parser = sub.add_parser(
        "pull", help=f"download a small default model into the Hugging Face cache ({', '.join(KNOWN_MODELS)})"
    )
    pull_parser.add_argument(
        "name", choices=sorted(KNOWN_MODELS), metavar="NAME", help=", ".join(KNOWN_MODELS)
    )
    pull_parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pull_parser.set_defaults(run=run_pull)
    cal = sub.add_parser(
        "calibrate",
        help="time each backend and precision now and cache the verdict that --backend/--precision auto "
        f"use (it is also measured again after {CALIBRATION_MAX_AGE_DAYS:.0f} days)",
    )
    cal.add_argument("--model", help="model name or path (default: the one `morphapp render` would use)")
    cal.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to run (default auto)")
    cal.add_argument("--backend", choices=BACKEND_CHOICES, default="auto", help="limit the candidates")
    cal.add_argument("--precision", choices=PRECISION_CHOICES, default="auto", help="limit the candidates")
    cal.set_defaults(run=run_calibrate)


def _row(info: ModelInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "family": info.family,
        "latent_space": info.latent_space,
        "latent_channels": info.latent_channels,
        "format": info.format,
        "usable": info.usable,
        "can_encode": info.can_encode,
        "files": [str(p) for p in info.files],
        "size_bytes": info.size_bytes,
        "source": info.source,
    }


def _kind(info: ModelInfo) -> str:
    name = KIND_NAMES.get(info.kind, info.kind)
    if not info.usable:
        return f"{name} (not usable yet)"
    if info.is_diffusion:
        return f"{name} (diffusion: --model {info.name})"
    return name if info.can_encode else f"{name} (decoder only)"


def run(args: argparse.Namespace) -> int:
    from morphapp.models import builtin, hf_cache
    from morphapp.models.discovery import ENV_VAR, HF_CACHE_SOURCE, scan

    result = scan()
    roots = result.searched
    hub_cache = hf_cache.hub_cache_dir()
    if args.json:
        doc = {
            "search_paths": [str(r.path) for r in roots],
            "hf_cache": str(hub_cache),
            "models": [_row(m) for m in result.models],
            "skipped": result.skipped,
        }
        print(json.dumps(doc, indent=2))
        return 0
    if not result.models:
        print(
            "No models found, not even the built-in TAEF2 (reinstall morphapp). "
            "`morphapp models pull taef2` fetches it."
        )
    else:
        header = ("NAME", "KIND", "FAMILY", "LATENT", "FORMAT", "SIZE", "WHERE")
        rows = [
            (
                m.name,
                _kind(m),
                m.family,
                f"{m.latent_channels} ch" if m.latent_channels else "?",
                m.format,
                f"{m.size_bytes / 1e6:.1f} MB",
                f"{m.source}: {m.folder}",
            )
            for m in result.models
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
        for row in (header, *rows):
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"\nSearched ({ENV_VAR}, models.toml, ./models, user data dir, Hugging Face cache, built-in):")
    for root in roots:
        if root.source == builtin.SOURCE:  # searched just before the built-in folder
            _print_place(hub_cache, f"{HF_CACHE_SOURCE}: known models and diffusers pipelines")
        _print_place(root.path, root.source)
    for line in result.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 0


def _print_place(path: Path, source: str) -> None:
    print(f"  {path}  [{source}]{'' if path.is_dir() else '  (missing)'}")


def run_pull(args: argparse.Namespace) -> int:
    from morphapp.models.library import pull

    bars: dict[str, tqdm] = {}

    def show(p: PullProgress) -> None:
        bar = bars.get(p.filename)
        if bar is None:
            desc = f"{p.filename} ({p.file_index}/{p.file_count})"
            # disable=None: tqdm stays quiet when stderr is not a terminal, so logs stay clean.
            bar = bars[p.filename] = tqdm(
                total=p.total, desc=desc, unit="B", unit_scale=True, file=sys.stderr, disable=None
            )
        if p.total is not None and bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        bar.refresh()

    try:
        result = pull(args.name, progress=None if args.quiet else show)
    finally:
        for bar in bars.values():
            bar.close()
    info = result.model
    print(f"pulled {info.name}: {info.family}, {info.latent_channels} ch, in {info.folder}")
    for f in result.files:
        state = "verified" if f.verified else "not verified: morphapp has no pinned hash for this file yet"
        print(f"  {f.filename}  {f.size} bytes  sha256 {f.sha256}  ({state})")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from morphapp.core.render.device import describe_device, resolve_device
    from morphapp.models import backend
    from morphapp.models.backend import choose
    from morphapp.models.discovery import find_model

    def note(line: str) -> None:
        print(f"note: {line}", file=sys.stderr)

    info = find_model(args.model)
    device = resolve_device(args.device)
    choice = choose(info, device, args.backend, args.precision, note=note, recalibrate=True)
    print(f"{info.name} on {describe_device(device)}: {choice.describe()}")
    if choice.how == "calibrated":
        print(f"cached in {backend.default_cache_path()}")
    return 0
