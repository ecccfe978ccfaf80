"""The autoencoder engine: a TAE-family codec (torch or ONNX Runtime) and its latent cache."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import AnyKeyframe, image_files, latent_keyframes
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.device import describe_device
from morphapp.core.render.frames import Frame, NoteFn, ProgressFn, encode_keyframes, render_frames
from morphapp.core.render.latent_cache import LatentCache, LatentKey
from morphapp.engine.base import AutoencoderState, SharedState, StepFn, adoptable


class AutoencoderEngine:
    """Renders morphs with ``codec``; keyframe latents are kept in ``cache`` between renders."""

    is_diffusion = False

    def __init__(
        self,
        codec: LatentCodec,
        *,
        backend: str = "torch",
        cache: LatentCache | None = None,
        note: NoteFn | None = None,
        batch_size: int = 1,
    ) -> None:
        self.codec = codec
        self.backend = backend
        self.cache = cache if cache is not None else LatentCache()
        self.note = note
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self.codec.name

    def describe(self) -> str:
        """One line for the status bar, e.g. ``taef2 on CPU, torch float32``."""
        dtype = str(self.codec.dtype).removeprefix("torch.")
        return f"{self.name} on {describe_device(self.codec.device)}, {self.backend} {dtype}"

    @property
    def resume_key(self) -> dict[str, str]:
        key = {"model": self.codec.model_id, "device": self.codec.device.type, "dtype": str(self.codec.dtype)}
        if self.backend != "torch":  # only then, so torch renders resume as they always did
            key["backend"] = self.backend
        return key

    def frames(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        indices: Sequence[int] | None = None,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        on_step: StepFn | None = None,  # no denoising steps here
    ) -> Iterator[Frame]:
        return render_frames(
            latent_keyframes(keyframes, self.codec.name), self.codec, settings, frame_indices=indices,
            cache=self.cache, cancel=cancel, progress=progress, note=self.note, batch_size=self.batch_size,
        )  # fmt: skip

    def prepare(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        encode_keyframes(
            latent_keyframes(keyframes, self.codec.name),
            self.codec,
            settings,
            cache=self.cache,
            cancel=cancel,
        )

    def shared_state(
        self,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        cancel: CancelToken | None = None,
        indices: Sequence[int] | None = None,
    ) -> AutoencoderState:
        """The latents of keyframes ``indices`` (default: all; expression terms too), by cache key."""
        usable = latent_keyframes(keyframes, self.codec.name)  # a prompt refused, numbered in the morph
        images = image_files(usable if indices is None else [usable[i] for i in indices])
        latents = encode_keyframes(images, self.codec, settings, cache=self.cache, cancel=cancel)
        where = (self.codec.model_id, settings.size, settings.fit, settings.background)
        by_key = {LatentKey(file_sha256(k.path), *where): latents[i] for i, k in enumerate(images)}
        return AutoencoderState(self.codec.model_id, by_key)

    def adopt(self, state: SharedState | None) -> None:
        """Put another engine's keyframe latents into this one's cache (a ModelError for a
        diffusion state, or latents of another codec: see ``base.adoptable``)."""
        if state is None:
            return
        latents = adoptable(state, AutoencoderState, self.codec.model_id, f"{self.name} (autoencoder engine)")
        for key, latent in latents.latents.items():
            self.cache.put(key, latent)
