"""One morph through a diffusion model: keyframe states, and the frame at any t between two.

A keyframe's state is its noise (an image inverted by DDIM, or a prompt's seeded noise), its
text conditioning, the self-attention keys/values recorded while it is denoised back, and that
denoised picture, which is the frame shown at the keyframe itself (so the morph does not jump
from a photo to the model's rendition of it). An in-between at t denoises the AdaIN-slerp of the
two noises under the lerp of the two conditionings, attending to both endpoints early on.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe, ExprKeyframe, Keyframe, PromptKeyframe
from morphapp.core.domain.settings import MAX_SEED, MorphSettings
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.imaging.load import load_image
from morphapp.core.notes import NoteFn
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.frames import Progress, ProgressFn, to_pixels, to_tensor
from morphapp.diffusion import attention, attention_budget
from morphapp.diffusion.cache import InversionCache, InversionKey
from morphapp.diffusion.conditioning import Conditioning
from morphapp.diffusion.ddim import DdimSchedule, denoise, invert
from morphapp.diffusion.memory import MemoryLadder
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.noise import combine_noise, inject_high_frequencies, slerp_adain

FREEMORPH_UNFUSED = 0.2  # FreeMorph: the first fifth of the denoising attends to the keyframes alone
MAX_KEYFRAME_STATES = 4  # a segment needs two; a few more spare re-denoising at loop and pingpong turns
MAX_OFFERED_STATES = MAX_KEYFRAME_STATES  # made by other workers, on the CPU: a chunk needs 2-3


@dataclass(frozen=True)
class StepInfo:
    """One denoising step of the frame being made, for progress and live previews."""

    label: str  # "keyframe 2" or "t=0.375"
    step: int  # 1-based within this frame
    total: int
    preview: np.ndarray | None  # H x W x 3 uint8 of the predicted clean image, when a preview codec is set


StepFn = Callable[[StepInfo], None]


@dataclass
class KeyframeState:
    noise: torch.Tensor  # (1, C, h, w) float32 on the CPU, at the level of step ``start``
    cond: Conditioning
    kv: attention.KvStore
    pixels: np.ndarray
    guidance: float  # what this keyframe was denoised with (1 for images: as they were inverted)


def states_key(keyframes: Sequence[AnyKeyframe], settings: MorphSettings) -> tuple[object, ...]:
    """What keyframe states depend on: the keyframes and the settings that reach the denoising."""
    # pacing only moves in-betweens; the method only changes how in-betweens attend to the keyframes
    options = dataclasses.replace(settings.diffusion, pacing="linear", method="inner")
    return (tuple(keyframes), settings.size, settings.fit, settings.background, settings.seed, options)


class DiffusionMorpher:
    def __init__(
        self,
        model: DiffusionModel,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cache: InversionCache | None = None,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        note: NoteFn | None = None,
        on_step: StepFn | None = None,
        preview: LatentCodec | None = None,
    ) -> None:
        self.model = model
        self.keyframes = list(keyframes)
        self.settings = settings
        self.key = states_key(keyframes, settings)
        self.cache = cache if cache is not None else InversionCache()
        self.cancel = cancel
        self.progress = progress
        self.note = note or (lambda _line: None)
        self.on_step = on_step
        if preview is not None and preview.latent_channels != model.latent_channels:
            self.note(f"preview model {preview.name} is for another latent space; previews are off")
            preview = None
        self.preview = preview
        options = settings.diffusion
        self.schedule = DdimSchedule.from_scheduler_config(model.scheduler_config, options.steps)
        has_prompts = any(_has_prompt(k) for k in self.keyframes)
        self.guidance = options.guidance_for(has_prompts)
        inverted = options.inverted_steps()
        if has_prompts and inverted < options.steps:
            # A prompt keyframe starts from pure noise; its neighbours must start from the same level.
            self.note("prompt keyframes start from pure noise: images are inverted fully (--strength 1)")
            inverted = options.steps
        self.start = options.steps - inverted
        self.attn_until = self.start + round(options.attn_steps * inverted)
        # Recorded attention within a byte budget: fewer layers, then fewer steps, when it would not fit.
        guided_prompts = has_prompts and self.guidance != 1.0  # guided keyframes record (uncond, cond)
        self.attn_plan = attention_budget.plan(
            attention_budget.layer_shapes(model.unet, settings.size, model.downscale),
            start=self.start, until=self.attn_until, batch=2 if guided_prompts else 1,
            budget=model.attn_budget, keyframes=min(MAX_KEYFRAME_STATES, len(self.keyframes)),
            host=attention_budget.host_budget() if model.device.type != "cpu" else 0,
        )  # fmt: skip
        self.attn_until = self.attn_plan.until_step
        self.inversions_run = 0  # for tests and the CLI's summary
        self.states_made = 0  # keyframe states denoised here (not adopted from another worker)
        self.frames_made = 0  # in-betweens denoised here
        self.split_batch = False
        self.state = attention.AttentionState(layers=self.attn_plan.layers, method=options.method)
        self.state.fused_from = self.start + round(FREEMORPH_UNFUSED * inverted)
        if self.attn_plan.offload:
            self.state.store_device = torch.device("cpu")
        attention.install(model.unet, self.state)
        # Recorded attention is large (hundreds of MB per keyframe for SD at 512²): keep the states
        # of the few keyframes the current segments use; an evicted one is denoised again when
        # needed (its inverted noise stays cached).
        self._states: OrderedDict[int, KeyframeState] = OrderedDict()
        # States made by another morpher (a distributed worker), on the CPU: moved to the device
        # when a segment needs them, so each keyframe is denoised once in the whole cluster.
        self._offered: OrderedDict[int, KeyframeState] = OrderedDict()
        self._uncond: Conditioning | None = None
        self.ladder = MemoryLadder(self._apply_rung, self.note)

    # --- public -------------------------------------------------------------------------------
    def reusable_for(
        self, model: DiffusionModel, keyframes: Sequence[AnyKeyframe], settings: MorphSettings
    ) -> bool:
        """Whether this morpher's keyframe states hold for another render (a preview after an edit of
        the timing, easing or pacing keeps them; other keyframes, size or diffusion settings do not)."""
        return model is self.model and self.key == states_key(keyframes, settings)

    def attach(
        self,
        *,
        settings: MorphSettings,
        cancel: CancelToken | None,
        progress: ProgressFn | None,
        note: NoteFn | None,
        on_step: StepFn | None,
    ) -> None:
        """Take over the UNet's attention hooks (another morpher may have had them) and this render's
        settings and callbacks."""
        attention.install(self.model.unet, self.state)
        self.settings = settings
        self.state.method = settings.diffusion.method  # (fused_from depends on steps and strength only)
        self.cancel, self.progress, self.on_step = cancel, progress, on_step
        self.note = note or (lambda _line: None)
        self.ladder = MemoryLadder(self._apply_rung, self.note)

    def keyframe_pixels(self, index: int) -> np.ndarray:
        return self.keyframe_state(index).pixels

    def frame(self, a: int, b: int, t: float) -> np.ndarray:
        """The frame at ``t`` between keyframes ``a`` and ``b`` (t = 0 / 1: the keyframes' own)."""
        if t <= 0.0:
            return self.keyframe_pixels(a)
        if t >= 1.0:
            return self.keyframe_pixels(b)
        return self.ladder.run(lambda: self._frame(a, b, t))

    def holds_state(self, index: int) -> bool:
        """Whether keyframe ``index``'s state is here (made or adopted): no denoise needed for it."""
        return index in self._states or index in self._offered

    def keyframe_state(self, index: int) -> KeyframeState:
        state = self._states.get(index)
        if state is None:
            if index in self._offered:  # made by another worker: to the device, no denoise
                state = self._on_device(self._offered[index])
            else:
                state = self.ladder.run(lambda: self._keyframe_state(index))
            self._states[index] = state
            while len(self._states) > MAX_KEYFRAME_STATES:
                self._states.popitem(last=False)
        self._states.move_to_end(index)
        return state

    def export_states(self, indices: Sequence[int]) -> dict[int, KeyframeState]:
        """The states of keyframes ``indices`` (made now where missing), on the CPU, for another
        morpher of the same model and ``key`` (a distributed worker) to ``adopt_states``."""
        cpu = torch.device("cpu")
        out: dict[int, KeyframeState] = {}
        for index in sorted(set(indices)):
            state = self.keyframe_state(index)
            kv = {k: (keys.to(cpu), values.to(cpu)) for k, (keys, values) in state.kv.items()}
            cond = state.cond.to(cpu, state.cond.embeds.dtype)
            out[index] = KeyframeState(state.noise.to(cpu), cond, kv, state.pixels, state.guidance)
        return out

    def adopt_states(self, states: Mapping[int, KeyframeState]) -> None:
        """Take keyframe states made by ``export_states`` elsewhere: no keyframe is denoised again.
        They wait on the CPU (the last ``MAX_OFFERED_STATES``); a segment moves its two to the device."""
        for index, state in sorted(states.items()):
            self._offered[index] = state
            self._offered.move_to_end(index)
        while len(self._offered) > MAX_OFFERED_STATES:
            self._offered.popitem(last=False)

    def _on_device(self, state: KeyframeState) -> KeyframeState:
        device = self.model.device
        store = self.state.store_device or device  # an offloading plan keeps them in CPU memory
        kv = {k: (keys.to(store), values.to(store)) for k, (keys, values) in state.kv.items()}
        cond = state.cond.to(device, state.cond.embeds.dtype)
        return KeyframeState(state.noise, cond, kv, state.pixels, state.guidance)

    def prepare(self, indices: Iterable[int]) -> None:
        """Invert the image keyframes of ``indices`` now (reporting "encode" progress), so a bad
        image fails before any frame and every later state only needs its recorded denoise."""
        todo = sorted(set(indices))
        for done, index in enumerate(todo):
            keyframe = self.keyframes[index]
            images = keyframe.images if isinstance(keyframe, ExprKeyframe) else [keyframe]
            for image in [] if self.holds_state(index) else images:  # adopted: nothing to invert
                if isinstance(image, Keyframe):
                    cond = self.model.encode_prompt(image.prompt, self.settings.size)
                    # (a partial, not a lambda with default arguments: mypy cannot type that one)
                    self.ladder.run(functools.partial(self._noise, index, image, cond))
            if self.progress:
                self.progress(Progress("encode", done + 1, len(todo)))

    # --- internals ----------------------------------------------------------------------------
    def _frame(self, a: int, b: int, t: float) -> np.ndarray:
        self.frames_made += 1
        state_a, state_b = self.keyframe_state(a), self.keyframe_state(b)
        noise = slerp_adain(state_a.noise, state_b.noise, t)
        if self.state.method == "freemorph":  # one fresh noise for every in-between: no flicker
            fresh = torch.randn(noise.shape, generator=torch.Generator("cpu").manual_seed(self.settings.seed))
            noise = inject_high_frequencies(noise, fresh)
        cond = state_a.cond.lerp(state_b.cond, t)
        # Guidance ramps between the two keyframes' own: an image keyframe (denoised unguided, as
        # it was inverted) and a prompt keyframe (guided) meet without a jump at either end.
        guidance = (1.0 - t) * state_a.guidance + t * state_b.guidance
        self.state.mix(state_a.kv, state_b.kv, t, self.attn_until)
        try:
            latent = self._denoise(noise, cond, f"t={t:.3f}", guidance)
        finally:
            self.state.off()
        return self._decode(latent)

    def _keyframe_state(self, index: int) -> KeyframeState:
        self.states_made += 1
        keyframe = self.keyframes[index]
        if isinstance(keyframe, ExprKeyframe):
            noise, cond = self._expression_start(index, keyframe)
        else:
            cond = self.model.encode_prompt(keyframe.prompt, self.settings.size)
            noise = self._noise(index, keyframe, cond)
        guidance = self.keyframe_guidance(index)
        self.state.record(self.attn_until)
        try:
            latent = self._denoise(noise, cond, f"keyframe {index + 1}", guidance)
            kv = self.state.recorded
        finally:
            self.state.off()
        return KeyframeState(noise, cond, kv, self._decode(latent), guidance)

    def keyframe_guidance(self, index: int) -> float:
        """An image keyframe is denoised with the guidance it was inverted with (none), so its frame
        stays the photo's faithful rendition whatever the prompts ask; a prompt keyframe with the
        morph's guidance."""
        return self.guidance if _has_prompt(self.keyframes[index]) else 1.0

    def _expression_start(self, index: int, keyframe: ExprKeyframe) -> tuple[torch.Tensor, Conditioning]:
        """The noise and conditioning of an expression keyframe: the weighted sums of its terms'.
        Prompt terms without a seed share the keyframe's, so "a king - a man + a woman" moves the
        text alone and keeps the noise (and with it the layout)."""
        weights = [term.weight for term in keyframe.terms]
        conds = [self.model.encode_prompt(term.source.prompt, self.settings.size) for term in keyframe.terms]
        noises = [self._noise(index, t.source, c) for t, c in zip(keyframe.terms, conds, strict=True)]
        return combine_noise(weights, noises), Conditioning.weighted_sum(weights, conds)

    def _noise(self, index: int, keyframe: Keyframe | PromptKeyframe, cond: Conditioning) -> torch.Tensor:
        width, height = self.settings.size
        shape = (1, self.model.latent_channels, height // self.model.downscale, width // self.model.downscale)
        if isinstance(keyframe, PromptKeyframe):
            seed = (
                keyframe.seed if keyframe.seed is not None else (self.settings.seed + index) % (MAX_SEED + 1)
            )
            generator = torch.Generator("cpu").manual_seed(seed)
            return torch.randn(shape, generator=generator, dtype=torch.float32)  # same on every device
        settings = self.settings
        key = InversionKey(
            file_sha256(keyframe.path), self.model.model_id, settings.size, settings.fit, settings.background,
            self.schedule.steps, self.start, keyframe.prompt,
        )  # fmt: skip
        noise = self.cache.get(key)
        if noise is not None:
            return noise
        loaded = load_image(keyframe.path, settings.size, settings.fit, settings.background)
        for line in loaded.notes:
            self.note(f"{keyframe.path.name}: {line}")
        clean = self.model.encode_image(to_tensor(loaded.pixels))
        noise = invert(clean.cpu(), self.schedule, self._model_fn(cond, 1.0), start=self.start,
                       check=self._check).cpu()  # fmt: skip
        self.inversions_run += 1
        self.cache.put(key, noise)
        return noise

    def _denoise(self, noise: torch.Tensor, cond: Conditioning, label: str, guidance: float) -> torch.Tensor:
        total = self.schedule.steps - self.start

        def on_step(index: int, clean: torch.Tensor) -> None:
            if self.progress is not None:
                self.progress(Progress("denoise", index - self.start + 1, total))
            if self.on_step is None:
                return
            preview = to_pixels(self.preview.decode(clean.cpu()))[0] if self.preview is not None else None
            self.on_step(StepInfo(label, index - self.start + 1, total, preview))

        return denoise(noise, self.schedule, self._model_fn(cond, guidance), start=self.start,
                       on_step=on_step, check=self._check)  # fmt: skip

    def _model_fn(
        self, cond: Conditioning, guidance: float
    ) -> Callable[[torch.Tensor, int, int], torch.Tensor]:
        if guidance == 1.0:

            def plain(x: torch.Tensor, step: int, timestep: int) -> torch.Tensor:
                self.state.step = step
                return self.model.predict(x, timestep, cond).cpu()

            return plain
        uncond = self._unconditional()
        both = cond.batch_with(uncond)

        def guided_fn(x: torch.Tensor, step: int, timestep: int) -> torch.Tensor:
            self.state.step = step
            if self.split_batch:  # the VRAM ladder's second rung: the same maths, half the memory
                try:
                    self.state.part = 0
                    out_u = self.model.predict(x, timestep, uncond)
                    self.state.part = 1
                    out_c = self.model.predict(x, timestep, cond)
                finally:
                    self.state.part = None
            else:
                out_u, out_c = self.model.predict(x, timestep, both).chunk(2)
            return (out_u + guidance * (out_c - out_u)).cpu()

        return guided_fn

    def _unconditional(self) -> Conditioning:
        if self._uncond is None:
            empty = self.model.encode_prompt("", self.settings.size)
            if self.model.zero_uncond:
                pooled = None if empty.pooled is None else torch.zeros_like(empty.pooled)
                empty = Conditioning(torch.zeros_like(empty.embeds), pooled, empty.time_ids)
            self._uncond = empty
        return self._uncond

    def _decode(self, latent: torch.Tensor) -> np.ndarray:
        return to_pixels(self.model.decode_latents(latent))[0]

    def _check(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()

    def _apply_rung(self, rung: int) -> None:
        if rung >= 1:
            self.split_batch = True
        if rung >= 2:
            self.model.enable_tiled_vae()
        if rung >= 3:
            self.model.move_to(torch.device("cpu"))
            self._states.clear()  # recorded attention and conditionings lived on the GPU
            self._uncond = None


def _has_prompt(keyframe: AnyKeyframe) -> bool:
    """Whether the keyframe is made from text (and so denoised with guidance)."""
    return isinstance(keyframe, PromptKeyframe) or (
        isinstance(keyframe, ExprKeyframe) and keyframe.has_prompts
    )
