"""Model discovery start-up cost: a cold scan (nothing cached) against a warm one (scan cache present).

Builds a fake ComfyUI-style tree of about 50 files in a temp folder (TAE pairs linked to the real
TAEF2 weights in ../shared, tiny SD / SDXL / FLUX checkpoints, VAEs, a diffusers pipeline, ONNX
graphs) and times ``scan()`` over it, each run with a fresh ``ScanCache`` object read from disk as
a new process would. Run: ``python bench/bench_scan.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from morphapp.models.discovery import scan  # noqa: E402
from morphapp.models.scan_cache import ScanCache  # noqa: E402
from tests.models.fakes import (  # noqa: E402
    link_taef2,
    onnx_model_bytes,
    write_checkpoint,
    write_diffusers_pipeline,
)

TAEF2 = REPO.parent / "shared" / "models" / "taef2"


def build_tree(root: Path) -> int:
    models = root / "ComfyUI" / "models"
    for i in range(8):  # 16 files: TAE pairs (real weights, loaded to read their shapes)
        link_taef2(models / "vae_approx", TAEF2, f"tae{i}")
    families = ["SD 1.x", "SD 2.x", "SDXL", "SD3", "FLUX.1", "FLUX.2"]
    for i in range(18):  # 18 single-file checkpoints, some a level down
        sub = "checkpoints" if i % 3 else f"checkpoints/set{i}"
        write_checkpoint(models / sub / f"ckpt{i}.safetensors", families[i % len(families)])
    for i in range(6):  # 6 VAEs
        write_checkpoint(models / "vae" / f"vae{i}.safetensors", "VAE")
    write_diffusers_pipeline(models / "diffusers" / "pipe", "StableDiffusionXLPipeline", 4)  # 5 files
    (models / "onnx").mkdir()
    graph = onnx_model_bytes(inputs={"latent": [1, 16, 64, 64]})
    for i in range(4):  # 4 ONNX graphs
        (models / "onnx" / f"decoder{i}.onnx").write_bytes(graph)
    return sum(1 for p in root.rglob("*") if p.is_file())


def timed(folders: list[Path], cache_file: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = scan(folders, cache=ScanCache(cache_file))
    return time.perf_counter() - started, len(result.models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = build_tree(root)
        folders = [root / "ComfyUI" / "models"]
        cold, warm = [], []
        for i in range(args.repeats):
            cache_file = root / f"cache{i}.json"
            seconds, found = timed(folders, cache_file)  # no cache file yet: every model is opened
            cold.append(seconds)
            warm.append(timed(folders, cache_file)[0])  # same tree, cache read back from disk
        print(f"tree: {files} files, {found} models")
        print(f"cold scan: median {statistics.median(cold) * 1e3:.1f} ms (min {min(cold) * 1e3:.1f})")
        print(f"warm scan: median {statistics.median(warm) * 1e3:.1f} ms (min {min(warm) * 1e3:.1f})")


if __name__ == "__main__":
    main()
