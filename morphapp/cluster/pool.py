"""The Ray actors of a distributed render: starting one per GPU (or CPU actors), dropping the dead.

Each actor (:class:`~morphapp.cluster.worker.FrameWorker`) opens the model once; :func:`start_pool`
waits until every one has, so a model or device that cannot be opened fails before any frame
is sent. :class:`WorkerPool` keeps the live actors and how many chunks each has in hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from morphapp.cluster.options import ClusterOptions
from morphapp.engine import EngineOptions
from morphapp.errors import ModelError, MorphError

if TYPE_CHECKING:
    from morphapp.models.info import ModelInfo

__all__ = ["POLL_S", "WorkerPool", "start_pool"]

POLL_S = 0.2  # how often a wait on the workers looks at the cancel token (and lets Ctrl+C in)


@dataclass
class WorkerPool:
    actors: list[Any]
    kind: str  # "GPU" or "CPU"
    threads: int  # torch threads per CPU actor
    busy: dict[Any, int] = field(default_factory=dict)  # actor -> chunks in flight

    def drop(self, actor: Any) -> None:
        """Forget a dead worker; when none is left, the render cannot go on."""
        self.actors.remove(actor)
        self.busy.pop(actor, None)
        if not self.actors:
            raise MorphError("every Ray worker died; nothing is left to render the frames")

    def drop_quietly(self, actor: Any) -> None:
        """Forget a dead worker, if not forgotten already; the caller says when none is left."""
        if actor in self.actors:
            self.actors.remove(actor)
            self.busy.pop(actor, None)


def start_pool(
    ray: Any, model: ModelInfo, options: EngineOptions, cluster: ClusterOptions, device: str, *, local: bool
) -> tuple[WorkerPool, dict[str, str]]:
    """One actor per GPU (``num_gpus=1``), or CPU actors where the cluster has no GPU, each with
    the model open; returns them and the workers' engine key."""
    # Looked up on each start, not at import: a test swaps worker.FrameWorker for its own class.
    from morphapp.cluster.worker import FrameWorker

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if device in ("auto", "cuda") else 0
    if gpus:
        count = min(cluster.workers or gpus, gpus)
        kind, threads, actor_options = "GPU", 0, {"num_gpus": 1, "num_cpus": 1}
    else:
        nodes = max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
        count = cluster.workers or nodes
        cpus = max(1, int(resources.get("CPU", 1)) // count)
        # Local: as many threads as a one-process render uses. oneDNN's float sums depend on the
        # thread count (a few pixel values differ by 1 between 1 and 2 threads); the same count
        # keeps the frames byte-identical to a one-process render, whatever the worker count.
        threads = torch.get_num_threads() if local else cpus
        kind, actor_options = "CPU", {"num_cpus": 1 if local else cpus}
    remote = ray.remote(max_restarts=0, max_task_retries=0)(FrameWorker)
    actor_device = "cuda" if kind == "GPU" else ("cpu" if device == "auto" else device)
    actors = [
        remote.options(**actor_options).remote(model, actor_device, options, threads) for _ in range(count)
    ]
    try:
        keys = ray.get([actor.resume_key.remote() for actor in actors])  # waits for every model to load
    except ray.exceptions.RayActorError as exc:  # its __init__ failed: the model, the device...
        reason = _last_line(str(getattr(exc, "error_msg", "") or exc))
        raise ModelError(f"a Ray worker could not open {model.name}: {reason}") from None
    return WorkerPool(actors, kind, threads, {actor: 0 for actor in actors}), keys[0]


def _last_line(traceback_text: str) -> str:
    """The exception line of a worker's traceback, without its module path: the message."""
    lines = [line.strip() for line in traceback_text.splitlines() if line.strip()]
    last = lines[-1] if lines else "unknown error"
    name, sep, message = last.partition(": ")
    return message if sep and name.rsplit(".", 1)[-1].endswith(("Error", "Exception")) else last
