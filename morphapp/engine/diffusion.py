"""The diffusion engine: a Stable-Diffusion-class model, its inversions and its keyframe states.

``morphapp.diffusion`` (and with it diffusers) is imported only when such an engine is made:
autoencoder renders never pay the seconds it takes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.device import describe_device
from morphapp.core.render.frames import Frame, NoteFn, ProgressFn
from morphapp.engine.base import DiffusionState, SharedState, StepFn, adoptable

if TYPE_CHECKING:  # imported when an engine is made (``_morpher_for``, ``engine.open``), not with this module
    from morphapp.diffusion.cache import InversionCache
    from morphapp.diffusion.model import DiffusionModel
    from morphapp.diffusion.morph import DiffusionMorpher


class DiffusionEngine:
    """Renders morphs with a loaded ``morphapp.diffusion.model.DiffusionModel``.

    The last render's ``DiffusionMorpher`` is kept: a render of the same keyframes and diffusion
    settings (a timing, easing or pacing edit) reuses its keyframe states instead of denoising the
    keyframes again. ``inversions``: the on-disk ``InversionCache``; ``preview``: a TAE of the same
    latent space that pictures each denoising step for ``on_step``.
    """

    is_diffusion = True

    def __init__(
        self,
        model: DiffusionModel,
        *,
        inversions: InversionCache | None = None,
        preview: LatentCodec | None = None,
        note: NoteFn | None = None,
    ) -> None:
        self.model = model
        self.inversions = inversions
        self.preview = preview
        self.note = note
        self._morpher: DiffusionMorpher | None = None
        self._adopted: DiffusionState | None = None  # keyframe states from another engine (a worker)
        self.pacing: dict[int, dict[float, float]] | None = None  # even pacing measured elsewhere

    @property
    def name(self) -> str:
        return str(self.model.name)

    def describe(self) -> str:
        """The status bar's line: "sd-tiny on CPU, float32 (diffusion)"."""
        dtype = str(self.model.dtype).removeprefix("torch.")
        return f"{self.name} on {describe_device(self.model.device)}, {dtype} (diffusion)"

    @property
    def resume_key(self) -> dict[str, str]:
        # The attention budget decides which layers and steps mix (pixels): a resume must use the same.
        return {
            "model": self.model.model_id, "device": self.model.device.type, "dtype": str(self.model.dtype),
            "attn_budget": str(self.model.attn_budget),
        }  # fmt: skip

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
        from morphapp.diffusion.render import render_diffusion_frames

        morpher = self._morpher_for(keyframes, settings)
        if self._adopted is not None and self._adopted.key == morpher.key:
            morpher.adopt_states(self._adopted.states)
            self._adopted = None
        yield from render_diffusion_frames(
            keyframes, self.model, settings, frame_indices=indices, cancel=cancel, progress=progress,
            note=self.note, on_step=on_step, morpher=morpher,
            remaps=self.pacing if settings.diffusion.pacing == "even" else None,
        )  # fmt: skip
        if self.model.float32_retries and self.note is not None:
            redone = self.model.float32_retries
            self.note(f"{redone} VAE call(s) overflowed in {self.model.dtype} and were redone in float32")

    def prepare(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        """Nothing ahead of time: keyframes are inverted by the first render (and cached)."""

    def shared_state(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
        indices: Sequence[int] | None = None,
    ) -> DiffusionState:
        """The states of keyframes ``indices`` (default: all): inverted noise, conditioning, recorded
        attention within the attention budget, denoised picture; on the CPU, with the key they hold
        for. A distributed render has each worker make a share of them, for all the others."""
        morpher = self._morpher_for(keyframes, settings)
        morpher.cancel = cancel
        wanted = range(len(keyframes)) if indices is None else indices
        return DiffusionState(self.model.weights_id, morpher.key, morpher.export_states(wanted))

    def adopt(self, state: SharedState | None) -> None:
        """Keep keyframe states from another engine (``shared_state``) for the next render of the
        same morph; several calls add up (states of another morph replace them). A ModelError for
        an autoencoder's state, or states made with another model (``base.adoptable``)."""
        if state is None:
            return
        states = adoptable(state, DiffusionState, self.model.weights_id, f"{self.name} (diffusion engine)")
        held = self._adopted
        if held is not None and held.key == states.key:
            states = dataclasses.replace(held, states={**held.states, **states.states})
        self._adopted = states

    def holds_state(self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings, index: int) -> bool:
        """Whether keyframe ``index``'s state is here already (made, adopted, or waiting to be)."""
        morpher = self._morpher_for(keyframes, settings)
        adopted = self._adopted
        waiting = adopted is not None and adopted.key == morpher.key and index in adopted.states
        return morpher.holds_state(index) or waiting

    @property
    def states_made(self) -> int:
        """Keyframe states this engine's current morpher denoised itself (not adopted)."""
        return 0 if self._morpher is None else self._morpher.states_made

    @property
    def frames_made(self) -> int:
        """In-betweens this engine's current morpher denoised."""
        return 0 if self._morpher is None else self._morpher.frames_made

    def _morpher_for(self, keyframes: Sequence[AnyKeyframe], settings: MorphSettings) -> DiffusionMorpher:
        from morphapp.diffusion.morph import DiffusionMorpher

        morpher = self._morpher
        if morpher is None or not morpher.reusable_for(self.model, keyframes, settings):
            morpher = self._morpher = DiffusionMorpher(
                self.model, keyframes, settings, cache=self.inversions, preview=self.preview
            )
        return morpher
