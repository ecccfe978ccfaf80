"""The small default models that ``morphapp models pull`` can fetch, and how to check them.

Honesty about what is pinned: this file was written offline, so no entry carries a published
SHA-256 or byte size yet (``sha256=None``, ``size=None``). A pull of such a file still checks
everything it can (the transfer against the server's own SHA-256 ETag, the format, the tensor
shapes and the latent channels below) and reports the hash it computed as *unverified*. Fill in
``sha256``/``size`` (and pin ``revision`` to a commit) from a trusted download to make pulls
verified: a mismatch then deletes the file.

The repositories of TAESD / TAESDXL / TAESD3 / TAEF1 are the diffusers ``AutoencoderTiny``
repositories named by the diffusers documentation (one ``diffusion_pytorch_model.safetensors``
holding both halves). The TAEF2 weights are published as ``taef2_encoder.pth`` /
``taef2_decoder.pth`` in the GitHub repository madebyollin/taesd; the Hugging Face repository
named below for them is an unverified assumption.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFile:
    filename: str
    sha256: str | None = None  # None: not pinned yet (see the module docstring)
    size: int | None = None


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo: str
    files: tuple[KnownFile, ...]
    latent_channels: int  # what the downloaded weights must say, whatever the hash
    description: str
    revision: str = "main"  # a 40-hex commit pins the download; "main" follows the repository
    repo_verified: bool = True  # False: the repository name is a guess, see the module docstring


_DIFFUSERS_TAE = (KnownFile("config.json"), KnownFile("diffusion_pytorch_model.safetensors"))

KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel("taesd", "madebyollin/taesd", _DIFFUSERS_TAE, 4, "SD 1.x-2.x latents"),
        KnownModel("taesdxl", "madebyollin/taesdxl", _DIFFUSERS_TAE, 4, "SDXL latents"),
        KnownModel("taesd3", "madebyollin/taesd3", _DIFFUSERS_TAE, 16, "SD3 latents"),
        KnownModel("taef1", "madebyollin/taef1", _DIFFUSERS_TAE, 16, "FLUX.1 latents"),
        KnownModel(
            "taef2",
            "madebyollin/taef2",
            (KnownFile("taef2_encoder.pth"), KnownFile("taef2_decoder.pth")),
            32,
            "FLUX.2 latents",
            repo_verified=False,
        ),
    )
}


def known_model(name: str) -> KnownModel | None:
    return KNOWN_MODELS.get(name.lower())


def known_repos() -> dict[str, str]:
    """Repository id -> model name, for finding pulled models in the Hugging Face cache."""
    return {m.repo: m.name for m in KNOWN_MODELS.values()}
