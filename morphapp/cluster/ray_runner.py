"""One render spread over Ray workers: the same frames as one process, written in order.

The driver (this process) plans the morph, starts or joins a Ray cluster, and makes one actor
per GPU (``num_gpus=1``), or CPU actors where the cluster has no GPU. Each actor opens the model
once through the engine facade (``morphapp.engine.open_engine``). What every frame shares is
computed once, by the first actor, and handed to the others through Ray's object store (an
autoencoder's keyframe latents; a diffusion model's keyframe states: inverted noise, conditioning,
recorded attention and the denoised keyframe, each made by one worker (they share the keyframes
out and make theirs at once) and fetched by the others per chunk, as needed). Frames go out
in chunks of consecutive indices, at most ``IN_FLIGHT`` chunks per actor, and come back in any
order; ``ClusterRender.frames`` yields them in plan order from a reorder buffer that the
in-flight limit keeps small, so the same streaming, atomic writers as a one-process render take
them.

A worker that dies mid-chunk (its process killed, its machine gone) loses only that chunk: it is
sent again to another actor. The frames do not depend on which actor makes them: per-frame seeds
and keyframe states come from the project alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import Frame, NoteFn, Progress, ProgressFn
from morphapp.engine import EngineOptions, FrameRenderer, StepFn
from morphapp.errors import InputError, ModelError, MorphError

if TYPE_CHECKING:
    from morphapp.models.info import ModelInfo

IN_FLIGHT = 2  # chunks queued per actor: one computing, one waiting, so no actor idles between chunks
MAX_CHUNK = 8  # frames per chunk at most: small enough to spread, large enough to amortise a call
CONNECT_TIMEOUT_S = 3.0
_POLL_S = 0.2  # how often a wait looks at the cancel token (and lets Ctrl+C in)


@dataclass(frozen=True)
class ClusterOptions:
    """``workers``: actors to start (local: a Ray instance of that many; with ``address``: at most
    that many); ``address``: a running cluster's ``host:port`` (``ray start --head`` prints it)."""

    workers: int | None = None
    address: str | None = None
    chunk: int | None = None  # frames per chunk (default: from the frame and worker counts)

    def validate(self) -> None:
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise InputError(f"--workers {self.workers}: give 1 or more")
        if self.chunk is not None and self.chunk < 1:
            raise InputError(f"chunk {self.chunk}: give 1 or more frames")


def parse_cluster(text: str) -> ClusterOptions:
    """The window's cluster setting: ``local:N`` (a Ray instance of N workers on this machine) or a
    running cluster's ``HOST:PORT`` (what ``ray start --head`` prints)."""
    value = text.strip()
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 1024:
            raise InputError(f"{value!r}: local:N needs a number of workers, 1 or more (e.g. local:2)")
        return ClusterOptions(workers=int(count))
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"{value!r}: give local:N or a Ray cluster's HOST:PORT (e.g. 192.168.1.20:6379)")
    return ClusterOptions(address=value)


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ModelError(
            "--workers / --ray-address render on Ray, which is not installed; install it with: "
            "pip install 'morphapp[cluster]'"
        ) from exc
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """One TCP look at a cluster's address before Ray's own retries (which take a minute)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"--ray-address {address}: expected HOST:PORT (ray start --head prints it)")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"--ray-address {address}: cannot reach a Ray cluster there ({reason}); start one with "
            "`ray start --head` and give the address it prints"
        ) from exc


@dataclass
class _Chunk:
    number: int
    indices: list[int]
    tries: int = 0


@dataclass
class _Pool:
    actors: list[Any]
    kind: str  # "GPU" or "CPU"
    threads: int  # torch threads per CPU actor
    busy: dict[Any, int] = field(default_factory=dict)  # actor -> chunks in flight


class ClusterRender:
    """A render over Ray actors: a ``morphapp.engine.FrameRenderer``, as an in-process engine is
    (the shared state is made and handed over among the actors, not by this process's callers).

    Use as a context manager: entering starts (or joins) Ray and loads the model in every actor;
    leaving stops the actors, and the Ray instance when this process started it.
    """

    is_diffusion = False

    def __init__(
        self,
        model: ModelInfo,  # the same files on every machine
        options: EngineOptions,
        cluster: ClusterOptions,
        *,
        device: str = "auto",
        note: NoteFn | None = None,
    ) -> None:
        cluster.validate()
        self.model = model
        self.is_diffusion = bool(model.is_diffusion)
        self.options = options
        self.cluster = cluster
        self.device = device
        self.note = note or (lambda _line: None)
        self.name = str(model.name)
        self._ray: Any = None
        self._started_ray = False  # this process started the Ray instance (and stops it)
        self._joined = False  # this process connected to a running cluster (and disconnects)
        self._pool: _Pool | None = None
        self._worker_key: dict[str, str] = {}
        self.resent = 0  # chunks sent again after their worker died
        self._states_made: tuple[Any, dict[int, Any]] | None = None  # diffusion: (states key, refs)

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ClusterRender:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start(self) -> None:
        ray = self._ray = import_ray()
        from morphapp.cluster.worker import FrameWorker

        address = self.cluster.address
        local = address is None
        if address is not None:
            check_reachable(address)
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
            self._joined = True
        elif not ray.is_initialized():  # else: the caller's own Ray instance (an embedding app, tests)
            workers = self.cluster.workers or 1
            # This machine alone (no dashboard). Ray's servers still bind the machine's own address:
            # it resolves a loopback node address to that one (ray._private.services).
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            self._started_ray = True
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if self.device in ("auto", "cuda") else 0
        if gpus:
            count = min(self.cluster.workers or gpus, gpus)
            kind, threads, options = "GPU", 0, {"num_gpus": 1, "num_cpus": 1}
        else:
            nodes = max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
            count = self.cluster.workers or nodes
            cpus = max(1, int(resources.get("CPU", 1)) // count)
            # Local: as many threads as a one-process render uses. oneDNN's float sums depend on the
            # thread count (a few pixel values differ by 1 between 1 and 2 threads); the same count
            # keeps the frames byte-identical to a one-process render, whatever the worker count.
            threads = torch.get_num_threads() if local else cpus
            kind, options = "CPU", {"num_cpus": 1 if local else cpus}
        remote = ray.remote(max_restarts=0, max_task_retries=0)(FrameWorker)
        device = "cuda" if kind == "GPU" else ("cpu" if self.device == "auto" else self.device)
        actors = [
            remote.options(**options).remote(self.model, device, self.options, threads) for _ in range(count)
        ]
        try:
            keys = ray.get([actor.resume_key.remote() for actor in actors])  # waits for every model to load
        except ray.exceptions.RayActorError as exc:  # its __init__ failed: the model, the device...
            reason = _last_line(str(getattr(exc, "error_msg", "") or exc))
            raise ModelError(f"a Ray worker could not open {self.name}: {reason}") from None
        self._worker_key = keys[0]
        self._pool = _Pool(actors, kind, threads, {actor: 0 for actor in actors})
        where = "local instance" if local else f"cluster at {self.cluster.address}"
        each = f", {threads} thread{'s' if threads > 1 else ''} each" if kind == "CPU" else ""
        self.note(f"running on Ray ({where}): {count} {kind} worker{'s' if count > 1 else ''}{each}")

    def close(self) -> None:
        ray, pool = self._ray, self._pool
        self._pool = None
        if ray is None:
            return
        if pool is not None:
            for actor in pool.actors:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(actor)
        if ray.is_initialized() and (self._started_ray or self._joined):
            ray.shutdown()  # a joined cluster keeps running; only this driver's connection ends
        self._ray = None

    # --- the engine's face -------------------------------------------------------------------
    def describe(self) -> str:
        pool = self._pool
        count = 0 if pool is None else len(pool.actors)
        return f"{self.name} on Ray, {count} {'' if pool is None else pool.kind} workers"

    @property
    def resume_key(self) -> dict[str, str]:
        """The workers' engine key: a render resumed on one machine matches one made on Ray."""
        return dict(self._worker_key)

    def prepare(
        self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings, *, cancel: CancelToken | None = None
    ) -> None:
        """Nothing ahead: ``frames`` computes the shared state once per render."""

    def frames(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        indices: Sequence[int] | None = None,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        on_step: StepFn | None = None,  # denoising steps are not reported from workers
    ) -> Iterator[Frame]:
        from morphapp.core.render.frames import plan_for

        pool, ray = self._pool, self._ray
        if pool is None or ray is None:
            raise RuntimeError("ClusterRender.frames outside its `with` block")
        keyframes = tuple(keyframes)
        plan = plan_for(settings, len(keyframes))
        order = list(range(len(plan))) if indices is None else list(indices)
        if not order:
            return
        pacing = None
        if self.is_diffusion and settings.diffusion.pacing == "even":
            pacing = self._measure_pacing(keyframes, settings, plan, order, cancel)
        yield from self._render(keyframes, settings, order, cancel, progress, pacing)

    def _measure_pacing(
        self,
        keyframes: tuple[AnyKeyframe, ...],
        settings: MorphSettings,
        plan: Sequence[Any],
        order: Sequence[int],
        cancel: CancelToken | None,
    ) -> dict[int, dict[float, float]]:
        """Even pacing's first pass, once for all workers: each segment's planned in-betweens
        rendered over the cluster, then re-placed here (one process does the same within itself)."""
        from morphapp.diffusion.render import even_remap, planned_ts

        segments = sorted({plan[i].segment for i in order if plan[i].keyframe is None})
        wanted: dict[tuple[int, float | None], int] = {}  # (keyframe or segment, t) -> a plan index
        for spec in plan:
            if spec.keyframe is not None:
                wanted.setdefault((spec.keyframe, None), spec.index)
            elif spec.segment in segments:
                wanted.setdefault((spec.segment, spec.t), spec.index)
        linear = dataclasses.replace(
            settings, diffusion=dataclasses.replace(settings.diffusion, pacing="linear")
        )
        first = sorted(set(wanted.values()))
        pixels = {f.index: f.pixels for f in self._render(keyframes, linear, first, cancel, None, None)}
        remaps: dict[int, dict[float, float]] = {}
        for segment in segments:
            spec = next(s for s in plan if s.segment == segment)
            planned = planned_ts(plan, segment)
            frames = [pixels[wanted[(spec.a, None)]], *(pixels[wanted[(segment, t)]] for t in planned),
                      pixels[wanted[(spec.b, None)]]]  # fmt: skip
            remaps[segment], report = even_remap(segment, planned, frames)
            self.note(report.line())
        return remaps

    def _render(
        self,
        keyframes: tuple[AnyKeyframe, ...],
        settings: MorphSettings,
        order: list[int],
        cancel: CancelToken | None,
        progress: ProgressFn | None,
        pacing: dict[int, dict[float, float]] | None,
    ) -> Iterator[Frame]:
        pool, ray = self._pool, self._ray
        assert pool is not None and ray is not None
        size = self.cluster.chunk or max(1, min(MAX_CHUNK, math.ceil(len(order) / (len(pool.actors) * 4))))
        chunks = [_Chunk(n, order[i : i + size]) for n, i in enumerate(range(0, len(order), size))]
        shared = self._shared_state(keyframes, settings, cancel)
        fresh = list(reversed(chunks))  # popped from the end: in order
        resend: list[_Chunk] = []  # sent again first (lowest number first): the writer waits on them
        pending: dict[Any, tuple[_Chunk, Any]] = {}
        ready: dict[int, list[Frame]] = {}
        window = IN_FLIGHT * len(pool.actors)
        next_chunk = done = 0

        def send() -> None:
            while resend or (fresh and len(pending) + len(ready) < window):
                free = [a for a in pool.actors if pool.busy[a] < IN_FLIGHT]
                if not free:
                    return
                actor = min(free, key=lambda a: pool.busy[a])
                chunk = resend.pop(0) if resend else fresh.pop()
                ref = actor.render.remote(keyframes, settings, chunk.indices, [shared], pacing)
                pending[ref] = (chunk, actor)
                pool.busy[actor] += 1

        while next_chunk < len(chunks):
            send()
            if next_chunk in ready:
                for frame in ready.pop(next_chunk):
                    yield frame
                    done += 1
                    if progress is not None:
                        progress(Progress("decode", done, len(order)))
                next_chunk += 1
                continue
            if cancel is not None:
                cancel.raise_if_cancelled()
            finished, _ = ray.wait(list(pending), num_returns=1, timeout=_POLL_S)
            for ref in finished:
                chunk, actor = pending.pop(ref)
                if actor in pool.busy:  # not dropped already (a dead worker's other chunk)
                    pool.busy[actor] -= 1
                try:
                    ready[chunk.number] = ray.get(ref)
                except ray.exceptions.RayActorError:
                    self._lost(actor, chunk, resend)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    raise (cause if isinstance(cause, MorphError) else exc) from None

    def _shared_state(
        self, keyframes: tuple[AnyKeyframe, ...], settings: MorphSettings, cancel: CancelToken | None = None
    ) -> Any:
        """What every frame needs, kept in the object store: an autoencoder's keyframe latents (one
        actor encodes them); a diffusion model's keyframe states, shared out over the actors (each
        denoises its share at once) and one reference per keyframe."""
        if self.is_diffusion:
            from morphapp.diffusion.morph import states_key

            key = states_key(keyframes, settings)  # even pacing's two passes share one set
            if self._states_made is None or self._states_made[0] != key:
                self._states_made = (key, self._keyframe_states(keyframes, settings, cancel))
            return self._states_made[1]
        pool, ray = self._pool, self._ray
        assert pool is not None and ray is not None
        while pool.actors:
            actor = pool.actors[0]
            ref = actor.shared_state.remote(keyframes, settings)
            try:
                ray.wait([ref])
                ray.get(ref)  # raises the worker's error here, once, rather than in every chunk
                return ref
            except ray.exceptions.RayActorError:
                self._drop(actor)
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                raise (cause if isinstance(cause, MorphError) else exc) from None
        raise MorphError("every Ray worker died before the render began")

    def _keyframe_states(
        self, keyframes: tuple[AnyKeyframe, ...], settings: MorphSettings, cancel: CancelToken | None
    ) -> dict[int, Any]:
        pool, ray = self._pool, self._ray
        assert pool is not None and ray is not None
        refs: dict[int, Any] = {}
        todo = list(range(len(keyframes)))
        while todo:
            if not pool.actors:
                raise MorphError("every Ray worker died before the render began")
            shares = {a: todo[j :: len(pool.actors)] for j, a in enumerate(pool.actors)}
            pending = {}
            for actor, share in shares.items():
                if share:  # one reference per state, and a last small one that says "done"
                    outs = actor.keyframe_states.options(num_returns=len(share) + 1).remote(
                        keyframes, settings, share
                    )
                    pending[actor] = (share, list(outs))
            done_refs = [outs[-1] for _share, outs in pending.values()]
            while True:  # the states stay in the object store: the driver waits on the "done"s
                if cancel is not None:
                    cancel.raise_if_cancelled()
                finished, _ = ray.wait(done_refs, num_returns=len(done_refs), timeout=_POLL_S)
                if len(finished) == len(done_refs):
                    break
            todo = []
            for actor, (share, outs) in pending.items():
                try:
                    ray.get(outs[-1])  # raises the worker's error here, once, rather than in every chunk
                    refs.update(zip(share, outs[:-1], strict=True))
                except ray.exceptions.RayActorError:
                    self._drop_quietly(actor)
                    todo += share  # made again by the workers left
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    raise (cause if isinstance(cause, MorphError) else exc) from None
        return refs

    def _drop_quietly(self, actor: Any) -> None:
        pool = self._pool
        assert pool is not None
        if actor in pool.actors:
            pool.actors.remove(actor)
            pool.busy.pop(actor, None)

    def _lost(self, actor: Any, chunk: _Chunk, resend: list[_Chunk]) -> None:
        """A worker died with ``chunk`` in hand: another one makes it again."""
        pool = self._pool
        if pool is not None and actor in pool.actors:
            self._drop(actor)
            self.note(f"a Ray worker died; its frames go to the {len(pool.actors)} left")
        chunk.tries += 1
        if chunk.tries > 3:
            raise MorphError(
                f"frames {chunk.indices[0]}-{chunk.indices[-1]}: lost with {chunk.tries} workers"
            )
        resend.append(chunk)
        resend.sort(key=lambda c: c.number)
        self.resent += 1

    def _drop(self, actor: Any) -> None:
        pool = self._pool
        assert pool is not None
        pool.actors.remove(actor)
        pool.busy.pop(actor, None)
        if not pool.actors:
            raise MorphError("every Ray worker died; nothing is left to render the frames")


if TYPE_CHECKING:

    def _is_a_frame_renderer(render: ClusterRender) -> FrameRenderer:
        return render  # mypy checks here that an export (app.export_project) can take a Ray render


def _last_line(traceback_text: str) -> str:
    """The exception line of a worker's traceback, without its module path: the message."""
    lines = [line.strip() for line in traceback_text.splitlines() if line.strip()]
    last = lines[-1] if lines else "unknown error"
    name, sep, message = last.partition(": ")
    return message if sep and name.rsplit(".", 1)[-1].endswith(("Error", "Exception")) else last
