"""Distributed renders on Ray against one process, on this machine, in one run.

    MORPHAPP_MODEL_PATH=/path/to/models python bench/bench_cluster.py [--size 512] [--frames 24]
        [--workers 1,2]

Renders the same TAEF2 morph (torch fp32, CPU) once in this process through the engine facade
(the baseline) and once per worker count through ``ClusterRender`` on a local Ray instance, each
timed from the first frame asked to the last one received, keyframe encodes included (Ray
start-up and model loads are reported apart). Prints frames/s and the ratio to the baseline, the
scheduling overhead per frame (what a one-worker render costs beyond the baseline, over its
frames, as a share of one baseline frame; goal <= 5 %), and the object-store bytes per frame (a
chunk's pickled frames) and of the shared state (the keyframe latents). Checks that every render
gives the baseline's bytes. Nothing asserts on timings: it measures and prints.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import torch

from morphapp.cluster.options import ClusterOptions
from morphapp.cluster.ray_runner import ClusterRender
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.engine import EngineOptions, open_engine
from morphapp.models.discovery import find_model

PAIRS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    info = find_model("taef2")
    options = EngineOptions(backend="torch", precision="fp32")
    keyframes = [Keyframe(PAIRS / "cat.png"), Keyframe(PAIRS / "dog.png")]
    settings = MorphSettings(size=(args.size, args.size), frames=args.frames)

    engine = open_engine(info, torch.device("cpu"), options)
    started = time.perf_counter()  # keyframe encodes included, as the workers' shared state is
    baseline = [f.pixels for f in engine.frames(keyframes, settings)]
    one_s = time.perf_counter() - started
    per_frame = one_s / len(baseline)
    shared_bytes = len(pickle.dumps(engine.shared_state(keyframes, settings)))  # type: ignore[attr-defined]
    frame_bytes = len(pickle.dumps(list(engine.frames(keyframes, settings, indices=[1, 2])))) / 2

    rows = [("one process (baseline)", 0.0, one_s, True)]
    call_s: float | None = None
    for count in (int(n) for n in args.workers.split(",")):
        began = time.perf_counter()
        with ClusterRender(info, options, ClusterOptions(workers=count)) as cluster:
            startup = time.perf_counter() - began
            started = time.perf_counter()
            frames = [f.pixels for f in cluster.frames(keyframes, settings)]
            seconds = time.perf_counter() - started
            if count == 1:
                call_s = _round_trip(cluster, keyframes, settings)
        same = all(np.array_equal(a, b) for a, b in zip(baseline, frames, strict=True))
        rows.append((f"Ray, {count} worker{'s' if count > 1 else ''}", startup, seconds, same))

    threads = torch.get_num_threads()
    print(f"TAEF2 fp32 on CPU, {args.size}², {len(baseline)} frames, torch threads {threads}\n")
    print("| render | start-up s | frames s | frames/s | vs one process | same bytes |")
    print("|---|---|---|---|---|---|")
    for name, startup, seconds, same in rows:
        print(f"| {name} | {startup:.1f} | {seconds:.1f} | {len(baseline) / seconds:.2f} | "
              f"{one_s / seconds:.2f}x | {'yes' if same else 'NO'} |")  # fmt: skip
    one_worker = next((r for r in rows if r[0] == "Ray, 1 worker"), None)
    if one_worker is not None:
        overhead = (one_worker[2] - one_s) / len(baseline)
        share = 100 * overhead / per_frame
        print(f"\nscheduling overhead: {overhead * 1000:+.0f} ms per frame = {share:+.1f} % of a "
              f"{args.size}² frame ({per_frame * 1000:.0f} ms)")  # fmt: skip
    if call_s is not None:
        share = 100 * call_s / per_frame
        print(f"an empty chunk's call (keyframes and settings out, a list back): {call_s * 1000:.1f} ms "
              f"= {share:.2f} % of a {args.size}² frame, before sharing it out")  # fmt: skip
    print(f"object store: {frame_bytes / 1024:.0f} KiB per frame; shared state {shared_bytes / 1024:.0f} KiB "
          "(keyframe latents), once per render")  # fmt: skip
    return 0


def _round_trip(cluster: ClusterRender, keyframes: list[Keyframe], settings: MorphSettings) -> float:
    """Median seconds of an empty chunk: the scheduling cost a chunk pays besides its frames."""
    import ray

    actor = cluster._pool.actors[0]  # type: ignore[union-attr]
    shared = actor.shared_state.remote(keyframes, settings)
    times = []
    for _ in range(21):
        started = time.perf_counter()
        ray.get(actor.render.remote(keyframes, settings, [], [shared]))
        times.append(time.perf_counter() - started)
    return float(np.median(times))


if __name__ == "__main__":
    raise SystemExit(main())
