"""What the engines offer their callers, whichever kind of model they run.

Three protocols, each a step more particular:

- ``FrameRenderer``: what renders frames (an export needs no more): both in-process engines and the
  distributed ``morphapp.cluster.ray_runner.ClusterRender``;
- ``MorphEngine``: a model loaded in this process: that, plus the state every frame of a morph
  shares, made once (``shared_state``) and handed to other engines of the same model (``adopt``);
- ``DiffusionMorphEngine``: what only a diffusion engine does besides (keyframe states made and
  adopted one by one, even pacing measured elsewhere): what a distributed worker drives.

A shared state is typed per kind of engine (``AutoencoderState``, ``DiffusionState``) and names the
model it was made with: ``adopt`` refuses a state of the other kind or of another model, which would
otherwise be silently of no use (or, for diffusion, make other frames than a one-process render).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import Frame, ProgressFn
from morphapp.errors import ModelError

if TYPE_CHECKING:  # names only: the engine facade never imports torch's models or diffusers to type them
    import torch

    from morphapp.core.render.latent_cache import LatentKey
    from morphapp.diffusion.morph import KeyframeState

# One denoising step of a diffusion frame (``morphapp.diffusion.morph.StepInfo``); typed loosely
# here so that the engine layer does not import the diffusion backend (and diffusers) to name it.
StepFn = Callable[[Any], None]


@dataclass(frozen=True)
class AutoencoderState:
    """An autoencoder engine's shared state: the keyframe latents by cache key (about 0.5 MB each
    at 512²), made with the codec ``weights`` (its ``model_id``: a hash of the weights)."""

    weights: str
    latents: Mapping[LatentKey, torch.Tensor]

    def __len__(self) -> int:
        """How many latents (one per image, however many keyframes or expression terms read it)."""
        return len(self.latents)


@dataclass(frozen=True)
class DiffusionState:
    """A diffusion engine's shared state: keyframe states by keyframe index (inverted noise,
    conditioning, recorded attention, denoised picture; on the CPU), made with the model
    ``weights`` (its ``weights_id``: the files' names and sizes, the same on every machine) for the
    morph ``key`` (``morphapp.diffusion.morph.states_key``)."""

    weights: str
    key: tuple[object, ...]
    states: Mapping[int, KeyframeState]


SharedState = AutoencoderState | DiffusionState
_State = TypeVar("_State", AutoencoderState, DiffusionState)
_WHAT = {
    AutoencoderState: "an autoencoder's keyframe latents",
    DiffusionState: "a diffusion model's keyframe states",
}


def adoptable(state: object, kind: type[_State], weights: str, engine: str) -> _State:
    """``state`` if it is a ``kind`` made with ``weights``; else a ModelError that says what it is.

    Adopting the other kind's state, or one made with other weights (a cluster whose machines hold
    different files under one model name), would be of no use at best and make other frames than
    a one-process render at worst: never silently."""
    if not isinstance(state, kind):
        if isinstance(state, AutoencoderState | DiffusionState):
            got = f"{_WHAT[type(state)]} made with {state.weights}"
        else:
            got = f"a {type(state).__module__}.{type(state).__qualname__}"
        raise ModelError(f"{engine} adopts {_WHAT[kind]}, but got {got}")
    if state.weights != weights:
        raise ModelError(
            f"{engine} runs {weights} but got {_WHAT[kind]} made with {state.weights}: "
            "every worker needs the same model files"
        )
    return state


class FrameRenderer(Protocol):
    """What renders a morph's frames: an in-process engine or a distributed render (Ray)."""

    @property
    def name(self) -> str:
        """The model's name, for notes and the status bar."""
        ...

    @property
    def is_diffusion(self) -> bool: ...

    def describe(self) -> str:
        """One line for the status bar: the model, where and how it runs."""
        ...

    @property
    def resume_key(self) -> dict[str, str]:
        """Everything besides the project that decides the pixels: a resumed render must match it."""
        ...

    def frames(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        indices: Sequence[int] | None = None,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        on_step: StepFn | None = None,
    ) -> Iterator[Frame]:
        """The frames at ``indices`` of the plan (default: all, in play order), in that order.

        Raises ``Cancelled`` between frames (between denoising steps for diffusion) once
        ``cancel`` is set. ``on_step`` hears every denoising step (diffusion models in this
        process only)."""
        ...


class MorphEngine(FrameRenderer, Protocol):
    """A model loaded in this process that renders morphs: what the CLI, the window and the
    workers call."""

    def prepare(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        """Compute ahead what every frame shares (keyframe latents), so a first frame comes sooner."""
        ...

    def shared_state(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
        indices: Sequence[int] | None = None,
    ) -> SharedState:
        """What the frames of this morph need of keyframes ``indices`` (default: all), computed once,
        to hand to other engines of the same model (distributed workers) through ``adopt``: frames
        made after it are identical."""
        ...

    def adopt(self, state: SharedState | None) -> None:
        """Take ``shared_state`` from another engine of the same model (None: nothing). A ModelError
        for a state of the other kind of engine or of another model (``adoptable``)."""
        ...


@runtime_checkable  # the distributed worker asks its engine this (autoencoder engines are not)
class DiffusionMorphEngine(MorphEngine, Protocol):
    """What a diffusion engine does besides (``morphapp.engine.diffusion.DiffusionEngine``):
    keyframe states shared out one by one over distributed workers, and even pacing measured once
    by their driver."""

    # Even pacing's planned t -> placed t per segment, measured elsewhere (None: measured here).
    pacing: dict[int, dict[float, float]] | None

    def shared_state(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
        indices: Sequence[int] | None = None,
    ) -> DiffusionState: ...

    def holds_state(self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings, index: int) -> bool:
        """Whether keyframe ``index``'s state is here already (made, adopted, or waiting to be)."""
        ...

    @property
    def states_made(self) -> int:
        """Keyframe states this engine denoised itself (not adopted)."""
        ...

    @property
    def frames_made(self) -> int:
        """In-betweens this engine denoised."""
        ...
