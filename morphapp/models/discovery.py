"""Find the models an artist already has, and the one to render with.

Search order (first match of a name wins, as on a ``PATH``): ``MORPHAPP_MODEL_PATH``
(os.pathsep-separated), the folders of ``models.toml`` (with ComfyUI / A1111 installs expanded
to their model folders), ``./models``, the user data dir's ``models`` folder, snapshots in the
Hugging Face hub cache, and last the models built into the package (``morphapp.models.builtin``:
TAEF2), so a fresh install renders offline and anything the artist installs comes first. Each
place and its subfolders (two levels) are scanned; a diffusers pipeline folder counts as one
model. What a model *is* comes from its contents (tensor shapes, headers, ``model_index.json``,
ONNX graph inputs); a file name only gives it a name. TAE models and SD-class diffusion models
render; the others are listed, never chosen. What each folder held is cached by folder and file
signatures (``scan_cache``), so a scan opens only what changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import platformdirs

from morphapp.errors import ModelError
from morphapp.models import builtin, hf_cache
from morphapp.models.config import configured_folders
from morphapp.models.describe import describe_diffusers, describe_onnx, describe_pair, describe_single
from morphapp.models.families import latent_space
from morphapp.models.info import ModelInfo
from morphapp.models.registry import known_repos
from morphapp.models.scan_cache import ScanCache, default_cache_path
from morphapp.models.weights import WEIGHT_SUFFIXES

__all__ = ["ENV_VAR", "ModelInfo", "ScanResult", "find_model", "model_search_paths", "scan"]

ENV_VAR = "MORPHAPP_MODEL_PATH"
MAX_DEPTH = 2  # e.g. ComfyUI's checkpoints/SDXL/model.safetensors
MODEL_SUFFIXES = (*WEIGHT_SUFFIXES, ".onnx")
PULL_HINT = "`morphapp models pull taef2` fetches one"
HF_CACHE_SOURCE = "Hugging Face cache"


@dataclass(frozen=True)
class SearchRoot:
    path: Path
    source: str  # shown in the WHERE column
    name: str | None = None  # names a model lying directly in this folder (a cache snapshot's repo)
    link_root: Path | None = None  # where symlinks from this folder may lead (a cache repo's blobs)


@dataclass
class ScanResult:
    models: list[ModelInfo] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why" for files that are not usable models
    searched: list[SearchRoot] = field(default_factory=list)


def search_roots() -> list[SearchRoot]:
    """Places searched for models, in priority order (duplicates removed)."""
    entries = os.environ.get(ENV_VAR, "").split(os.pathsep)
    # Absolute: a model found through a relative entry must still load after a chdir (the GUI,
    # a project opened from elsewhere), and the scan cache is shared by every working directory.
    roots = [SearchRoot(Path(os.path.abspath(os.path.expanduser(e))), ENV_VAR) for e in entries if e.strip()]
    roots += [SearchRoot(f.path, f.source) for f in configured_folders()]
    roots.append(SearchRoot(Path.cwd() / "models", "./models"))
    user_data = Path(platformdirs.user_data_dir("morphapp", appauthor=False)) / "models"
    roots.append(SearchRoot(user_data, "user data"))
    for snap in hf_cache.snapshots(known_repos()):
        repo_name = snap.repo.split("/")[-1]
        roots.append(SearchRoot(snap.path, f"HF cache {snap.repo}", repo_name, snap.repo_folder))
    roots.append(SearchRoot(builtin.builtin_folder(), builtin.SOURCE))
    unique: dict[str, SearchRoot] = {}
    for root in roots:
        unique.setdefault(os.path.normcase(os.path.abspath(root.path)), root)
    return list(unique.values())


def model_search_paths() -> list[Path]:
    return [root.path for root in search_roots()]


def scan(folders: Iterable[Path] | None = None, cache: ScanCache | None = None) -> ScanResult:
    """Scan the search places (or the given folders) and their subfolders for models."""
    roots = (
        search_roots()
        if folders is None
        else [SearchRoot(Path(os.path.abspath(f)), "given folder") for f in folders]
    )
    cache = ScanCache(default_cache_path()) if cache is None else cache
    result = ScanResult(searched=roots)
    seen: set[str] = set()
    for root in roots:
        _walk(root, result, seen, cache)
    cache.save(prune=folders is None)
    return result


def _walk(root: SearchRoot, result: ScanResult, seen: set[str], cache: ScanCache) -> None:
    queue = [(root.path, 0)]
    while queue:
        folder, depth = queue.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue  # a missing search place is normal (no ./models here)
        files, dirs = [], []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    dirs.append(entry)
                elif entry.is_file() and entry.name.lower().endswith((*MODEL_SUFFIXES, "model_index.json")):
                    files.append(entry)
            except OSError:
                continue
        name = root.name if folder == root.path else None
        if folder.name.endswith(".config") and folder != root.path:
            continue  # a single-file checkpoint's configuration (morphapp.diffusion), not a model
        if any(f.name == "model_index.json" for f in files):
            # A pipeline is one model; its vae/, unet/ ... folders are parts of it, not models.
            try:
                _add(result, seen, root, [describe_diffusers(name or folder.name, folder)])
            except ModelError as exc:
                result.skipped.append(str(exc))
            continue
        _add(result, seen, root, _folder_models(folder, files, name, root.link_root, cache, result))
        if depth < MAX_DEPTH:
            queue.extend((Path(d.path), depth + 1) for d in dirs)


def _folder_models(
    folder: Path,
    files: list[os.DirEntry[str]],
    name: str | None,
    link_root: Path | None,
    cache: ScanCache,
    result: ScanResult,
) -> list[ModelInfo]:
    """The models among one folder's files, from the cache when no file changed since the last scan."""
    if not files:
        return []
    try:
        stats = [f.stat() for f in files]  # follows symlinks: a relinked file is a changed file
        signature = [
            os.stat(folder).st_mtime_ns,
            [[f.name, st.st_size, st.st_mtime_ns] for f, st in zip(files, stats, strict=True)],
            name,
            str(link_root),
        ]
    except OSError:
        return []
    key = os.path.abspath(folder)
    entry = cache.get(key, signature)
    if entry is not None:
        try:
            models = [ModelInfo.from_dict(doc) for doc in entry["models"]]
            # Entries from before paths were made absolute name files relative to some old cwd.
            if all(p.is_absolute() for m in models for p in m.files):
                result.skipped.extend(str(line) for line in entry["skipped"])
                return models
        except (KeyError, TypeError, ValueError):
            pass  # a damaged cache entry: describe the folder again
    found = ScanResult()
    _describe_folder(folder, [Path(f.path) for f in files], name or folder.name, link_root, found)
    cache.put(key, signature, [m.to_dict() for m in found.models], found.skipped)
    result.skipped.extend(found.skipped)
    return found.models


def _describe_folder(
    folder: Path, files: list[Path], folder_name: str, link_root: Path | None, out: ScanResult
) -> None:
    pairs: dict[str, dict[str, Path]] = {}
    singles: list[Path] = []
    for path in files:
        stem = path.stem
        for half in ("encoder", "decoder"):
            if path.suffix.lower() != ".onnx" and stem.lower().endswith(f"_{half}"):
                pairs.setdefault(stem[: -len(half) - 1], {})[half] = path
                break
        else:
            singles.append(path)
    # As diffusers does: of model.bin and model.safetensors, only the safetensors file is read.
    safe_stems = {p.stem for p in singles if p.suffix.lower() == ".safetensors"}
    singles = [
        p for p in singles if p.suffix.lower() in (".safetensors", ".onnx") or p.stem not in safe_stems
    ]
    describers: list[Callable[[], ModelInfo]] = []
    for pair_name, halves in pairs.items():
        if "decoder" not in halves:
            out.skipped.append(f"{halves['encoder']}: encoder without a matching {pair_name}_decoder file")
            continue
        describers.append(partial(describe_pair, pair_name, halves.get("encoder"), halves["decoder"]))
    for path in singles:
        # diffusers folders name their file diffusion_pytorch_model.*: the folder names the model.
        model_name = folder_name if path.stem in ("diffusion_pytorch_model", "model") else path.stem
        if path.suffix.lower() == ".onnx":
            describers.append(partial(describe_onnx, model_name, path, link_root))
        else:
            describers.append(partial(describe_single, model_name, path))
    for describe in describers:
        try:
            out.models.append(describe())
        except ModelError as exc:
            out.skipped.append(str(exc))


def _add(result: ScanResult, seen: set[str], root: SearchRoot, found: list[ModelInfo]) -> None:
    for info in found:
        key = info.name.lower()
        if key in seen:
            continue  # an earlier place wins, as on a PATH
        seen.add(key)
        result.models.append(replace(info, source=root.source))


def searched_places() -> str:
    """Every place a model is looked for, the Hugging Face cache folder included, for messages."""
    places = [str(root.path) for root in search_roots()]
    cache = str(hf_cache.hub_cache_dir())
    return ", ".join([*places, f"{cache} ({HF_CACHE_SOURCE})"])


def find_model(name_or_path: str | None = None, *, latent_channels: int | None = None) -> ModelInfo:
    """The model to render with: a name in the search places, a file, or a folder.

    With no name, the first usable model that can encode images (keyframes need the encoder).
    ``latent_channels`` is the latent space a project was made in: a model of another space is a
    clear error, and the default choice only considers models of that space.
    """
    if name_or_path:
        candidate = Path(name_or_path).expanduser()
        if candidate.is_file():
            return _checked(_model_from_file(candidate), latent_channels)
        if candidate.is_dir():
            found = scan([candidate]).models
            if not found:
                raise ModelError(f"{candidate}: no model files found in this folder")
            return _checked(next((m for m in found if m.usable), found[0]), latent_channels)
    result = scan()
    if name_or_path:
        for info in result.models:
            if info.name.lower() == name_or_path.lower():
                return _checked(info, latent_channels)
        names = ", ".join(m.name for m in result.models) or "none"
        raise ModelError(
            f"--model {name_or_path}: no such model (found: {names}); models are looked for in "
            f"{searched_places()} (set {ENV_VAR} to add folders)"
        )
    for info in result.models:
        if info.can_encode and latent_channels in (None, info.latent_channels):
            return info
    if latent_channels is not None:
        raise ModelError(
            f"no {latent_channels}-channel ({latent_space(latent_channels)}) model found, which this project "
            f"was made with; put one in {searched_places()}, or choose another with --model"
        )
    folder = builtin.builtin_folder()
    damaged = next((line for line in result.skipped if line.startswith(str(folder))), None)
    why = (
        f"the built-in model is damaged ({damaged}); reinstall morphapp"
        if damaged
        else f"the built-in model is missing from {folder}; reinstall morphapp"
    )
    raise ModelError(
        f"no model found: {why}, or put a TAE model (e.g. taef2_encoder.pth + taef2_decoder.pth) in one "
        f"of {searched_places()}, or set {ENV_VAR} to its folder; {PULL_HINT}"
    )


def _checked(info: ModelInfo, latent_channels: int | None) -> ModelInfo:
    if not info.usable:
        raise ModelError(
            f"{info.name}: a {info.family} {info.kind} model ({info.folder}); morphapp cannot render with "
            "it yet: TAE models (taesd, taesdxl, taesd3, taef1, taef2) and Stable Diffusion 1.x/2.x/SDXL "
            f"models (diffusers folders, .safetensors checkpoints) work today; {PULL_HINT}"
        )
    if latent_channels is not None and info.latent_channels != latent_channels:
        raise ModelError(
            f"{info.name}: is a {info.latent_channels}-channel model ({info.latent_space}), but the project "
            f"was made in the {latent_space(latent_channels)} latent space ({latent_channels} channels); "
            "choose a matching model with --model"
        )
    return info


def _model_from_file(path: Path) -> ModelInfo:
    stem = path.stem
    if path.suffix.lower() == ".onnx":
        return describe_onnx(stem, path)
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
    name = path.parent.name if stem.startswith("diffusion_pytorch_model") else stem
    return describe_single(name, path)
