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

This module schedules the chunks and keeps the render's lifecycle; the rest lives beside it:
:mod:`.options` (what is asked for), :mod:`.connect` (reaching Ray), :mod:`.pool` (starting and
dropping actors), :mod:`.shared_state` (what every frame shares) and :mod:`.pacing` (even
pacing's first pass).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from morphapp.cluster.connect import check_reachable, import_ray
from morphapp.cluster.options import ClusterOptions
from morphapp.cluster.pacing import measure_even_pacing
from morphapp.cluster.pool import POLL_S, WorkerPool, start_pool
from morphapp.cluster.shared_state import autoencoder_shared_state, diffusion_keyframe_states
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import Frame, NoteFn, Progress, ProgressFn
from morphapp.engine import EngineOptions, FrameRenderer, StepFn
from morphapp.errors import MorphError

if TYPE_CHECKING:
    from morphapp.models.info import ModelInfo

IN_FLIGHT = 2  # chunks queued per actor: one computing, one waiting, so no actor idles between chunks
MAX_CHUNK = 8  # frames per chunk at most: small enough to spread, large enough to amortise a call


@dataclass
class _Chunk:
    number: int
    indices: list[int]
    tries: int = 0


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
        self._pool: WorkerPool | None = None
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
        pool, self._worker_key = start_pool(
            ray, self.model, self.options, self.cluster, self.device, local=local
        )
        self._pool = pool
        count, kind, threads = len(pool.actors), pool.kind, pool.threads
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

            def first_pass(linear: MorphSettings, first: list[int]) -> Iterator[Frame]:
                return self._render(keyframes, linear, first, cancel, None, None)

            pacing = measure_even_pacing(plan, order, settings, first_pass, self.note)
        yield from self._render(keyframes, settings, order, cancel, progress, pacing)

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
            finished, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
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
        pool, ray = self._pool, self._ray
        assert pool is not None and ray is not None
        if self.is_diffusion:
            from morphapp.diffusion.morph import states_key

            key = states_key(keyframes, settings)  # even pacing's two passes share one set
            if self._states_made is None or self._states_made[0] != key:
                self._states_made = (key, diffusion_keyframe_states(ray, pool, keyframes, settings, cancel))
            return self._states_made[1]
        return autoencoder_shared_state(ray, pool, keyframes, settings)

    def _lost(self, actor: Any, chunk: _Chunk, resend: list[_Chunk]) -> None:
        """A worker died with ``chunk`` in hand: another one makes it again."""
        pool = self._pool
        if pool is not None and actor in pool.actors:
            pool.drop(actor)
            self.note(f"a Ray worker died; its frames go to the {len(pool.actors)} left")
        chunk.tries += 1
        if chunk.tries > 3:
            raise MorphError(
                f"frames {chunk.indices[0]}-{chunk.indices[-1]}: lost with {chunk.tries} workers"
            )
        resend.append(chunk)
        resend.sort(key=lambda c: c.number)
        self.resent += 1


if TYPE_CHECKING:

    def _is_a_frame_renderer(render: ClusterRender) -> FrameRenderer:
        return render  # mypy checks here that an export (app.export_project) can take a Ray render
