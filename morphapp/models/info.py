"""What discovery knows about one model: enough to list it, choose it and load it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from morphapp.models.families import latent_space

USABLE_KINDS = frozenset({"tae"})  # autoencoders that render; diffusion models: see ``is_diffusion``
# Families the diffusion backend (morphapp.diffusion) runs, as discovery names them.
DIFFUSION_FAMILIES = frozenset({"SD 1.x-2.x", "SD 1.x", "SD 2.x", "SDXL"})


@dataclass(frozen=True)
class ModelInfo:
    """A model found on disk, described by its contents."""

    name: str
    kind: str  # "tae" (tiny autoencoder), "vae", "checkpoint", "unet", "diffusers", "onnx"
    family: str
    latent_channels: int | None
    encoder: Path | None
    decoder: Path | None  # None only for models that are not TAEs
    combined: bool = False  # both TAE halves in one file (``decoder`` == ``encoder``)
    format: str = ""  # "torch-zip", "pickle", "safetensors", "diffusers", "onnx"
    source: str = ""  # the search place that found it: "MORPHAPP_MODEL_PATH", "ComfyUI vae_approx", ...
    paths: tuple[Path, ...] = ()  # the file(s) or folder of a model that is not a TAE
    size_bytes: int = 0

    @property
    def files(self) -> tuple[Path, ...]:
        halves = (p for p in (self.encoder, self.decoder) if p is not None)
        return tuple(dict.fromkeys((*halves, *self.paths)))

    @property
    def is_diffusion(self) -> bool:
        """A Stable-Diffusion-class pipeline folder or single-file checkpoint the diffusion backend runs."""
        return (
            self.kind in ("diffusers", "checkpoint")
            and self.format in ("diffusers", "safetensors")
            and self.family.split(" (")[0] in DIFFUSION_FAMILIES
        )

    @property
    def usable(self) -> bool:
        """Whether morphapp can render with it: TAE models, and SD-class diffusion models."""
        return self.kind in USABLE_KINDS or self.is_diffusion

    @property
    def can_encode(self) -> bool:
        """A TAE with an encoder: the default model, the one the GUI renders with."""
        return self.kind in USABLE_KINDS and self.encoder is not None

    @property
    def latent_space(self) -> str:
        return latent_space(self.latent_channels)

    @property
    def folder(self) -> Path:
        first = self.files[0]
        return first if first.is_dir() else first.parent

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("encoder", "decoder"):
            doc[key] = None if doc[key] is None else str(doc[key])
        doc["paths"] = [str(p) for p in self.paths]
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ModelInfo:
        values = dict(doc)
        for key in ("encoder", "decoder"):
            values[key] = None if values.get(key) is None else Path(values[key])
        values["paths"] = tuple(Path(p) for p in values.get("paths", ()))
        return cls(**values)
