"""The small default models that ``morphapp models pull`` can fetch, as their repositories hold them.

Checked against the repositories' published file listings and model cards (Hugging Face "Files
and versions" pages, December 2026 copy):

- ``madebyollin/taesd``, ``madebyollin/taesdxl``, ``madebyollin/taesd3``, ``madebyollin/taef1``:
  diffusers ``AutoencoderTiny`` repositories. ``config.json`` (``"_class_name": "AutoencoderTiny"``,
  ``latent_channels`` 4 / 4 / 16 / 16) and ``diffusion_pytorch_model.safetensors`` holding both
  halves as ``encoder.layers.N.*`` / ``decoder.layers.N.*``; diffusers' decoder has no clamp
  module, so its indices are one lower than in the TAESD ``nn.Sequential`` (whose layer 0 is the
  clamp). The repositories also hold a pickled ``diffusion_pytorch_model.bin`` (never fetched),
  and taesd / taesdxl separate ``taesd*_encoder.safetensors`` / ``taesd*_decoder.safetensors``.
- ``madebyollin/taef2``: one file, ``taef2.safetensors``, in the same combined layout (no
  ``config.json``: diffusers' AutoencoderTiny has no TAEF2 mid-block GN). The same weights ship
  inside morphapp as the built-in model (``morphapp.models.builtin``).
- The original ``.pth`` halves (``taesd_encoder.pth`` ...) live in the GitHub repository
  madebyollin/taesd, which is not a Hugging Face repository and is not pulled from.

No entry carries a published SHA-256 or byte size (``sha256=None``, ``size=None``): the files
are updated in place on ``main`` and this file was written offline. A pull still checks what it
can (the transfer against the server's SHA-256 ETag, the format, the tensor shapes, the latent
channels below) and reports the hash it computed as *unverified*. Pin ``sha256``/``size`` and a
40-hex ``revision`` from a trusted download to make pulls verified: a mismatch deletes the file.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a pulled file holds; the loader reads each (morphapp.models.taesd.split_combined).
LAYOUT_DIFFUSERS = (
    "diffusers AutoencoderTiny: encoder.layers.N.* / decoder.layers.N.* (decoder N = TAESD N-1)"
)
LAYOUT_CONFIG = "diffusers config.json (AutoencoderTiny)"


@dataclass(frozen=True)
class KnownFile:
    filename: str
    sha256: str | None = None  # None: not pinned (see the module docstring)
    size: int | None = None
    layout: str = LAYOUT_DIFFUSERS


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo: str
    files: tuple[KnownFile, ...]
    latent_channels: int  # what the downloaded weights must say, whatever the hash
    description: str
    revision: str = "main"  # a 40-hex commit pins the download; "main" follows the repository

    @property
    def weight_files(self) -> tuple[KnownFile, ...]:
        return tuple(f for f in self.files if f.layout != LAYOUT_CONFIG)


_AUTOENCODER_TINY = (
    KnownFile("config.json", layout=LAYOUT_CONFIG),
    KnownFile("diffusion_pytorch_model.safetensors"),
)

KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel("taesd", "madebyollin/taesd", _AUTOENCODER_TINY, 4, "SD 1.x-2.x latents"),
        KnownModel("taesdxl", "madebyollin/taesdxl", _AUTOENCODER_TINY, 4, "SDXL latents"),
        KnownModel("taesd3", "madebyollin/taesd3", _AUTOENCODER_TINY, 16, "SD3 latents"),
        KnownModel("taef1", "madebyollin/taef1", _AUTOENCODER_TINY, 16, "FLUX.1 latents"),
        KnownModel("taef2", "madebyollin/taef2", (KnownFile("taef2.safetensors"),), 32, "FLUX.2 latents"),
    )
}


def known_model(name: str) -> KnownModel | None:
    return KNOWN_MODELS.get(name.lower())


def known_repos() -> dict[str, str]:
    """Repository id -> model name, for finding pulled models in the Hugging Face cache."""
    return {m.repo: m.name for m in KNOWN_MODELS.values()}
