"""A cluster of two Ray nodes on this machine (a head and a worker node, ``ray.cluster_utils``),
joined by its address as ``--ray-address`` does: one worker per node, the frames of one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from morphapp.cluster.options import ClusterOptions
from morphapp.cluster.ray_runner import ClusterRender
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.engine import EngineOptions, open_engine
from morphapp.models.info import ModelInfo

FP32 = EngineOptions(backend="torch", precision="fp32")


def test_two_nodes_joined_by_address_render_the_frames_of_one_process(
    taef2_info: ModelInfo, pairs_dir: Path
) -> None:
    import ray  # the [test] extra installs it: missing is a failure here, not a skip
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized()
    keyframes = [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]
    settings = MorphSettings(size=(96, 96), frames=10)
    # A joined cluster's CPU worker uses its share of the node's cores (1 here): oneDNN sums depend
    # on the thread count, so the one-process reference uses 1 thread too.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        engine = open_engine(taef2_info, torch.device("cpu"), FP32)
        want = [f.pixels for f in engine.frames(keyframes, settings)]
    finally:
        torch.set_num_threads(threads)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    address = cluster.address
    notes: list[str] = []
    try:
        with ClusterRender(taef2_info, FP32, ClusterOptions(address=address), note=notes.append) as c:
            got = list(c.frames(keyframes, settings))
    finally:
        cluster.shutdown()
    assert notes[0] == f"running on Ray (cluster at {address}): 2 CPU workers, 1 thread each"
    assert [f.index for f in got] == list(range(10))
    assert all(np.array_equal(a, f.pixels) for a, f in zip(want, got, strict=True))
