"""``morphapp models``: list the models found in the model folders."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from morphapp.models.discovery import ENV_VAR, ModelInfo, model_search_paths, scan


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("models", help="list the models found in the model folders")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def _row(info: ModelInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "family": info.family,
        "latent_channels": info.latent_channels,
        "can_encode": info.can_encode,
        "files": [str(p) for p in info.files],
        "size_bytes": info.size_bytes,
    }


def run(args: argparse.Namespace) -> int:
    result = scan()
    if args.json:
        doc = {
            "search_paths": [str(p) for p in model_search_paths()],
            "models": [_row(m) for m in result.models],
            "skipped": result.skipped,
        }
        print(json.dumps(doc, indent=2))
        return 0
    if not result.models:
        print("No models found.")
    else:
        header = ("NAME", "KIND", "LATENT", "SIZE", "FAMILY", "FILES")
        rows = [
            (
                m.name,
                m.kind if m.can_encode else f"{m.kind} (decoder only)",
                f"{m.latent_channels} ch",
                f"{m.size_bytes / 1e6:.1f} MB",
                m.family,
                ", ".join(str(p) for p in m.files),
            )
            for m in result.models
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
        for row in (header, *rows):
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"\nSearched ({ENV_VAR}, ./models, user data dir):")
    for path in model_search_paths():
        print(f"  {path}{'' if path.is_dir() else '  (missing)'}")
    for line in result.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 0
