"""What every frame of a distributed render shares, made once on the workers, kept in Ray's store.

An autoencoder's keyframe latents are encoded by one actor; a diffusion model's keyframe states
(inverted noise, conditioning, recorded attention and the denoised keyframe) are shared out over
the actors, each denoising its share at once, and stay in the object store as one reference per
keyframe, fetched by the other workers per chunk as needed. The driver only holds references.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from morphapp.cluster.pool import POLL_S, WorkerPool
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.errors import MorphError

__all__ = ["autoencoder_shared_state", "diffusion_keyframe_states"]


def autoencoder_shared_state(
    ray: Any, pool: WorkerPool, keyframes: Sequence[AnyKeyframe], settings: MorphSettings
) -> Any:
    """The keyframe latents, encoded by the first live actor: a reference into the object store."""
    while pool.actors:
        actor = pool.actors[0]
        ref = actor.shared_state.remote(keyframes, settings)
        try:
            ray.wait([ref])
            ray.get(ref)  # raises the worker's error here, once, rather than in every chunk
            return ref
        except ray.exceptions.RayActorError:
            pool.drop(actor)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, MorphError) else exc) from None
    raise MorphError("every Ray worker died before the render began")


def diffusion_keyframe_states(
    ray: Any,
    pool: WorkerPool,
    keyframes: Sequence[AnyKeyframe],
    settings: MorphSettings,
    cancel: CancelToken | None,
) -> dict[int, Any]:
    """One reference per keyframe state, each made by one actor; a dead actor's share is made
    again by the actors left."""
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
            finished, _ = ray.wait(done_refs, num_returns=len(done_refs), timeout=POLL_S)
            if len(finished) == len(done_refs):
                break
        todo = []
        for actor, (share, outs) in pending.items():
            try:
                ray.get(outs[-1])  # raises the worker's error here, once, rather than in every chunk
                refs.update(zip(share, outs[:-1], strict=True))
            except ray.exceptions.RayActorError:
                pool.drop_quietly(actor)
                todo += share  # made again by the workers left
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                raise (cause if isinstance(cause, MorphError) else exc) from None
    return refs
