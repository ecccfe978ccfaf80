"""What every engine offers its callers (``MorphEngine``), whichever kind of model it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from morphapp.core.cancel import CancelToken
from morphapp.core.keyframes import AnyKeyframe
from morphapp.core.render import Frame, ProgressFn
from morphapp.core.settings import MorphSettings

# One denoising step of a diffusion frame (``morphapp.diffusion.morph.StepInfo``); typed loosely
# here so that the engine layer does not import the diffusion backend (and diffusers) to name it.
StepFn = Callable[[Any], None]


class MorphEngine(Protocol):
    """A loaded model that renders morphs: what the CLI, the window and the workers call."""

    name: str  # the model's name, for notes and the status bar
    is_diffusion: bool

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
        ``cancel`` is set. ``on_step`` hears every denoising step (diffusion models only)."""
        ...

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
        self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings, *, cancel: CancelToken | None = None
    ) -> object:
        """What every frame of this morph needs, computed once, to hand to other engines of the same
        model (distributed workers) through ``adopt``: frames made after it are identical."""
        ...

    def adopt(self, state: object) -> None:
        """Take ``shared_state`` from another engine of the same model (None: nothing)."""
        ...
