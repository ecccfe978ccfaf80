"""A Stable-Diffusion-class model, loaded offline: UNet, VAE, text encoder(s), scheduler config.

Loading goes through diffusers (``from_pretrained`` for a pipeline folder, ``from_single_file``
for one ``.safetensors`` checkpoint) with ``local_files_only``: an artist's machine is offline,
and a missing piece must be a clear error, not a download. Only safetensors weights are read
(pickled ``.bin`` / ``.ckpt`` files can run code when loaded).

Half precision on CUDA is fast, but the SD VAE is known to overflow in float16 and give black or
NaN frames; every VAE call is checked and a non-finite result is run again through a float32
copy of the VAE (kept for later calls), as the TAE codec does.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from morphapp.core.notes import NoteFn
from morphapp.diffusion import attention_budget
from morphapp.diffusion.conditioning import Conditioning
from morphapp.diffusion.nets import Pipeline, Vae
from morphapp.errors import ModelError
from morphapp.models.info import ModelInfo

_log = logging.getLogger(__name__)

PIPELINES = {"SD 1.x-2.x": "StableDiffusionPipeline", "SD 1.x": "StableDiffusionPipeline",
             "SD 2.x": "StableDiffusionPipeline", "SDXL": "StableDiffusionXLPipeline"}  # fmt: skip
# Where diffusers itself would fetch a single-file checkpoint's configuration from (its
# DIFFUSERS_DEFAULT_PIPELINE_PATHS): a copy in the Hugging Face cache serves offline. As there,
# SD 2.x means 2.1 (768 px, v-prediction); a 2.x-base checkpoint needs its own ``.config`` folder.
BASE_REPOS = {
    "SD 1.x": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "SD 2.x": "stabilityai/stable-diffusion-2-1",
    "SDXL": "stabilityai/stable-diffusion-xl-base-1.0",
}


def _quiet_libraries() -> None:
    """diffusers and transformers print progress bars and advice on every load; the CLI has its own."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # Loading a pipeline passes the old ``torch_dtype`` name on to its sub-models itself.
    warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated", category=FutureWarning)
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


class DiffusionModel:
    """The networks of one model on one device, with the calls the morph needs."""

    def __init__(
        self,
        info: ModelInfo,
        device: torch.device,
        dtype: torch.dtype | None = None,
        *,
        note: NoteFn | None = None,
        attn_budget: int | None = None,
    ) -> None:
        self.info = info
        self.name = info.name
        self.device = device
        # float16 on CUDA (the VAE falls back per call); CPU float16 is slow and poorly supported.
        self.dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
        self.note = note or _log.info
        # Bytes of recorded self-attention a morph may keep (attention_budget); None: by device.
        self.attn_budget = attn_budget if attn_budget is not None else attention_budget.default_budget(device)
        self.float32_retries = 0
        pipe = load_pipeline(info, self.dtype)
        self.family = _family(info)
        self.unet = pipe.unet.to(device).eval()
        self.vae = pipe.vae.to(device).eval()
        self.scheduler_config = dict(pipe.scheduler.config)
        self._pipe = pipe  # its encode_prompt handles SD's one and SDXL's two text encoders
        for encoder in (getattr(pipe, "text_encoder", None), getattr(pipe, "text_encoder_2", None)):
            if encoder is not None:
                encoder.to(device).eval()
        self.latent_channels = int(self.vae.config.latent_channels)
        self.downscale = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.scaling_factor = float(self.vae.config.scaling_factor)
        self.shift_factor = float(getattr(self.vae.config, "shift_factor", None) or 0.0)
        self.model_id = f"{info.name}:{_fingerprint(info)}"
        # The files without their mtimes, so the same on every machine that holds them (model_id's
        # mtimes are this machine's: each copy or download has its own): what keyframe states handed
        # between distributed workers are checked against (``engine.base.adoptable``).
        self.weights_id = f"{info.name}:{_fingerprint(info, mtimes=False)}"
        # SDXL pipelines condition "no prompt" on zeros, not on the embedding of "" (diffusers'
        # force_zeros_for_empty_prompt, true for SDXL base): guidance pushes away from that.
        self.zero_uncond = self.family == "SDXL" and bool(
            pipe.config.get("force_zeros_for_empty_prompt", True)
        )
        self._vae32: Vae | None = None

    # --- text -------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_prompt(self, prompt: str, size: tuple[int, int]) -> Conditioning:
        encoded = self._pipe.encode_prompt(
            prompt, device=self.device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        if len(encoded) == 4:  # SDXL's pipeline (family SDXL): a pooled embedding, and the size as time ids
            embeds, _, pooled, _ = encoded
            width, height = size
            time_ids = torch.tensor(
                [[height, width, 0, 0, height, width]], dtype=self.dtype, device=self.device
            )
            return Conditioning(embeds.to(self.dtype), pooled.to(self.dtype), time_ids)
        embeds, _ = encoded
        return Conditioning(embeds.to(self.dtype))

    # --- UNet -------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, latents: torch.Tensor, timestep: int, cond: Conditioning) -> torch.Tensor:
        """The UNet's output for a (batch of) latent(s) at ``timestep``, in float32."""
        x = latents.to(device=self.device, dtype=self.dtype)
        # Conditioning made before the OOM ladder moved the model (GPU -> CPU float32) follows it.
        cond = cond.to(self.device, self.dtype)
        if cond.embeds.shape[0] != x.shape[0]:
            x = x.expand(cond.embeds.shape[0], *x.shape[1:])
        out = self.unet(x, timestep, **cond.unet_kwargs(), return_dict=False)[0]
        return out.to(torch.float32)

    # --- VAE --------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> UNet-space latents (mode of the VAE's distribution, scaled)."""

        def run(vae: Vae, dtype: torch.dtype) -> torch.Tensor:
            x = (images * 2.0 - 1.0).to(device=self.device, dtype=dtype)
            return vae.encode(x).latent_dist.mode()

        latents = self._vae_call("encode", run)
        return ((latents - self.shift_factor) * self.scaling_factor).to(torch.float32)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """UNet-space latents -> (B, 3, H, W) float32 images in [0, 1] on the CPU."""

        def run(vae: Vae, dtype: torch.dtype) -> torch.Tensor:
            x = (latents / self.scaling_factor + self.shift_factor).to(device=self.device, dtype=dtype)
            return vae.decode(x).sample

        images = self._vae_call("decode", run)
        return ((images.to(torch.float32) + 1.0) / 2.0).clamp(0, 1).cpu()

    def _vae_call(self, what: str, run: Callable[[Vae, torch.dtype], torch.Tensor]) -> torch.Tensor:
        if self.dtype != torch.float32 and bool(getattr(self.vae.config, "force_upcast", False)):
            # The VAE's own config says half precision overflows (SDXL's): float32 from the start,
            # not a failed half-precision call first on every frame.
            if self._vae32 is None:
                self.note(f"{self.name}: the VAE asks for float32 (force_upcast); it runs in float32")
                self._vae32 = _float32_copy(self.vae)
            return run(self._vae32, torch.float32).to(torch.float32)
        out = run(self.vae, self.dtype)
        if torch.isfinite(out).all():
            return out.to(torch.float32)
        if self.dtype == torch.float32:
            raise ModelError(f"{self.name}: the VAE {what} gave NaN/Inf in float32; the weights look damaged")
        if self._vae32 is None:
            self.note(f"{self.name}: the VAE {what} overflowed in {self.dtype}; retrying in float32")
            self._vae32 = _float32_copy(self.vae)
        self.float32_retries += 1
        out = run(self._vae32, torch.float32)
        if not torch.isfinite(out).all():
            raise ModelError(
                f"{self.name}: the VAE {what} gave NaN/Inf in float32 too; the weights look damaged"
            )
        return out

    def enable_tiled_vae(self) -> None:
        self.vae.enable_tiling()
        if self._vae32 is not None:
            self._vae32.enable_tiling()

    def move_to(self, device: torch.device) -> None:
        """Move every network (the VRAM ladder's last rung: CPU, in float32)."""
        self.device = device
        if device.type == "cpu":
            self.dtype = torch.float32
        for net in (self.unet, self.vae, getattr(self._pipe, "text_encoder", None),
                    getattr(self._pipe, "text_encoder_2", None)):  # fmt: skip
            if net is not None:
                net.to(device=device, dtype=self.dtype)
        self._vae32 = None


def _float32_copy(vae: Vae) -> Vae:
    import copy

    return copy.deepcopy(vae).to(torch.float32)


def _family(info: ModelInfo) -> str:
    return info.family.split(" (")[0]


def load_pipeline(info: ModelInfo, dtype: torch.dtype) -> Pipeline:
    """The diffusers pipeline object of ``info``, from local files only."""
    family = _family(info)
    class_name = PIPELINES.get(family)
    if class_name is None:
        raise ModelError(
            f"{info.name}: a {info.family} model; morphapp's diffusion backend runs Stable Diffusion "
            "1.x, 2.x and SDXL models"
        )
    _quiet_libraries()
    import diffusers

    pipeline_class = getattr(diffusers, class_name)
    path = info.paths[0] if info.paths else info.folder
    config: Path | None = None
    if not path.is_dir():
        if path.suffix.lower() != ".safetensors":
            raise ModelError(
                f"{path}: a pickled checkpoint ({path.suffix}); pickles can run code when loaded, so "
                "morphapp reads only .safetensors checkpoints: convert it, or use a diffusers folder"
            )
        # diffusers infers the family from the keys but takes every part's configuration (and the
        # tokenizer) from a diffusers folder; without ``config=`` it would fetch one from the Hub,
        # even with local_files_only. So morphapp finds one itself, or says where to put one.
        config = single_file_config(path, family)
    kwargs: dict[str, object] = {"local_files_only": True}
    if class_name == "StableDiffusionPipeline":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    from diffusers.loaders.single_file_utils import SingleFileComponentError

    try:
        if config is None:
            return pipeline_class.from_pretrained(path, torch_dtype=dtype, use_safetensors=True, **kwargs)
        if class_name == "StableDiffusionPipeline":
            kwargs.update(feature_extractor=None)  # the config may name one; the morph has no use for it
        return pipeline_class.from_single_file(str(path), config=str(config), dtype=dtype, **kwargs)
    except OSError as exc:
        where = "" if config is None else f" with the configuration in {config}"
        raise ModelError(
            f"{path}: cannot load this {family} model offline{where} ({_first_line(exc)})"
        ) from exc
    except (ValueError, KeyError, RuntimeError, TypeError, SingleFileComponentError) as exc:
        raise ModelError(f"{path}: not a loadable {family} model ({_first_line(exc)})") from exc


def single_file_config(checkpoint: Path, family: str) -> Path:
    """The diffusers configuration folder for a single-file checkpoint (``model_index.json``, each
    part's ``config.json``, the tokenizer files; no weights): ``<checkpoint name>.config`` beside it,
    else the family's base repository in the Hugging Face cache. A ModelError saying how to get one
    when neither is there."""
    beside = checkpoint.with_name(checkpoint.stem + ".config")
    if (beside / "model_index.json").is_file():
        return beside
    repo = BASE_REPOS.get(family)
    if repo is not None:
        from morphapp.models.hf_cache import current_snapshot, repo_folder

        snapshot = current_snapshot(repo_folder(repo))
        if snapshot is not None and (snapshot / "model_index.json").is_file():
            return snapshot
    fetch = f'`hf download {repo} --include "*.json" --include "*.txt"` once online, or ' if repo else ""
    raise ModelError(
        f"{checkpoint}: a single-file {family} checkpoint needs the diffusers configuration of its "
        f"model (model_index.json, each part's config.json, the tokenizer files; no weights), and "
        f"none is here: {fetch}copy those files of a diffusers folder of the same model into a "
        f"folder {beside.name} beside the checkpoint; or use a diffusers folder"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _fingerprint(info: ModelInfo, *, mtimes: bool = True) -> str:
    """Identifies the weights for cache keys by file names, sizes and mtimes (cheap, unlike hashing
    gigabytes), so replacing a file invalidates cached inversions. ``mtimes=False``: by names and
    sizes alone, as another machine's copy of the same files has them."""
    digest = hashlib.sha256()
    for given in info.paths or info.files:
        root = Path(given)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            stat = path.stat()
            name = path.name if path == root else path.relative_to(root).as_posix()
            stamp = f":{stat.st_mtime_ns}" if mtimes else ""
            digest.update(f"{name}:{stat.st_size}{stamp}\n".encode())
    return digest.hexdigest()[:16]
