"""Find models by name in the model folders.

Search order: ``MORPHAPP_MODEL_PATH`` (os.pathsep-separated), ``./models``, then the user data
dir's ``models`` folder. Each folder and its direct subfolders are scanned. A TAE model is
either a pair ``<name>_encoder.<ext>`` + ``<name>_decoder.<ext>`` (taesd's layout) or one
file holding both halves (diffusers' AutoencoderTiny layout). What a model *is* comes from
its tensors' shapes; the file name only gives it a name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from morphapp.errors import ModelError
from morphapp.models import taesd
from morphapp.models.weights import WEIGHT_SUFFIXES, load_state_dict

ENV_VAR = "MORPHAPP_MODEL_PATH"


@dataclass(frozen=True)
class ModelInfo:
    """A model found on disk, described by its weights."""

    name: str
    kind: str  # "tae": a tiny autoencoder
    family: str
    latent_channels: int
    encoder: Path | None
    decoder: Path
    combined: bool = False  # both halves in one file (``decoder`` == ``encoder``)

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(p for p in (self.encoder, self.decoder) if p is not None))

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)

    @property
    def can_encode(self) -> bool:
        return self.encoder is not None


@dataclass
class ScanResult:
    models: list[ModelInfo] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why" for files that are not usable models


def model_search_paths() -> list[Path]:
    """Folders searched for models, in priority order (duplicates removed)."""
    paths: list[Path] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            paths.append(Path(entry).expanduser())
    paths.append(Path.cwd() / "models")
    paths.append(Path(platformdirs.user_data_dir("morphapp", appauthor=False)) / "models")
    unique: dict[str, Path] = {}
    for p in paths:
        unique.setdefault(os.path.normcase(os.path.abspath(p)), p)
    return list(unique.values())


def scan(folders: Iterable[Path] | None = None) -> ScanResult:
    """Scan folders (and their direct subfolders) for models."""
    result = ScanResult()
    seen: set[str] = set()
    for folder in model_search_paths() if folders is None else folders:
        if not folder.is_dir():
            continue
        for sub in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            _scan_folder(sub, result, seen)
    return result


def _scan_folder(folder: Path, result: ScanResult, seen: set[str]) -> None:
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)
    except OSError:
        return
    pairs: dict[str, dict[str, Path]] = {}
    singles: list[Path] = []
    for path in files:
        stem = path.stem
        for half in ("encoder", "decoder"):
            if stem.lower().endswith(f"_{half}"):
                pairs.setdefault(stem[: -len(half) - 1], {})[half] = path
                break
        else:
            singles.append(path)
    for name, halves in pairs.items():
        if "decoder" not in halves:
            result.skipped.append(f"{halves['encoder']}: encoder without a matching {name}_decoder file")
            continue
        _add(result, seen, lambda n=name, h=halves: describe_pair(n, h.get("encoder"), h["decoder"]))
    for path in singles:
        # diffusers folders name their file diffusion_pytorch_model.*: the folder names the model.
        name = folder.name if path.stem.startswith("diffusion_pytorch_model") else path.stem
        _add(result, seen, lambda n=name, p=path: describe_combined(n, p))


def _add(result: ScanResult, seen: set[str], describe: Callable[[], ModelInfo]) -> None:
    try:
        info = describe()
    except ModelError as exc:
        result.skipped.append(str(exc))
        return
    key = info.name.lower()
    if key in seen:
        return  # an earlier folder wins, as on a PATH
    seen.add(key)
    result.models.append(info)


def describe_pair(name: str, encoder: Path | None, decoder: Path) -> ModelInfo:
    dec_shape = _shape_of(decoder, "decoder", load_state_dict(decoder))
    if encoder is not None:
        enc_shape = _shape_of(encoder, "encoder", load_state_dict(encoder))
        if enc_shape != dec_shape:
            raise ModelError(
                f"{encoder}: encoder ({enc_shape.latent_channels} channels) does not match its decoder "
                f"{decoder.name} ({dec_shape.latent_channels} channels)"
            )
    return ModelInfo(name, "tae", dec_shape.family, dec_shape.latent_channels, encoder, decoder)


def describe_combined(name: str, path: Path) -> ModelInfo:
    encoder_state, decoder_state = taesd.split_combined(load_state_dict(path))
    if not decoder_state:
        raise ModelError(f"{path}: not a tiny autoencoder (no decoder tensors); other model kinds come later")
    dec_shape = _shape_of(path, "decoder", decoder_state)
    has_encoder = bool(encoder_state)
    if has_encoder:
        _shape_of(path, "encoder", encoder_state)
    return ModelInfo(
        name, "tae", dec_shape.family, dec_shape.latent_channels, path if has_encoder else None, path, True
    )


def _shape_of(path: Path, half: str, state: taesd.StateDict) -> taesd.TaeShape:
    try:
        return taesd.encoder_shape(state) if half == "encoder" else taesd.decoder_shape(state)
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{path}: {exc}") from exc


def searched_places() -> str:
    return ", ".join(str(p) for p in model_search_paths())


def find_model(name_or_path: str | None = None) -> ModelInfo:
    """The model the user asked for: a name in the model folders, a file, or a folder.

    With no name, the first model that can encode images (keyframes need the encoder).
    """
    if name_or_path:
        candidate = Path(name_or_path).expanduser()
        if candidate.is_file():
            return _model_from_file(candidate)
        if candidate.is_dir():
            found = scan([candidate]).models
            if not found:
                raise ModelError(f"{candidate}: no model files found in this folder")
            return found[0]
    result = scan()
    if name_or_path:
        for info in result.models:
            if info.name.lower() == name_or_path.lower():
                return info
        names = ", ".join(m.name for m in result.models) or "none"
        raise ModelError(
            f"--model {name_or_path}: no such model (found: {names}); models are looked for in "
            f"{searched_places()} (set {ENV_VAR} to add folders)"
        )
    for info in result.models:
        if info.can_encode:
            return info
    raise ModelError(
        f"no model found; put a TAE model (e.g. taef2_encoder.pth + taef2_decoder.pth) in one of "
        f"{searched_places()}, or set {ENV_VAR} to its folder"
    )


def _model_from_file(path: Path) -> ModelInfo:
    stem = path.stem
    for half, other in (("encoder", "decoder"), ("decoder", "encoder")):
        if stem.lower().endswith(f"_{half}"):
            name = stem[: -len(half) - 1]
            sibling = next(
                (p for p in path.parent.glob(f"{name}_{other}.*") if p.suffix.lower() in WEIGHT_SUFFIXES),
                None,
            )
            if half == "decoder":
                return describe_pair(name, sibling, path)
            if sibling is None:
                raise ModelError(f"{path}: encoder without a matching {name}_decoder file beside it")
            return describe_pair(name, path, sibling)
    return describe_combined(stem, path)
