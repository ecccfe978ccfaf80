"""Fetch a known default model into the Hugging Face cache, check it, and describe it.

``pull("taef2", progress=callback, cancel=token)`` is the one entry point; the CLI's
``morphapp models pull`` and the GUI's first-run offer both call it. Downloads go through
``huggingface_hub.hf_hub_download`` into the standard HF cache (shared with every other HF tool),
from ``MORPHAPP_HF_ENDPOINT`` / ``HF_ENDPOINT`` when set. A dropped connection is resumed by
huggingface_hub with an HTTP ``Range`` request; a cancelled pull leaves no partial file.

Every pulled file is checked before it counts: its SHA-256 against the registry's pinned value
(when there is one), against the server's own SHA-256 ETag (which names the blob), its size, and
then the weights themselves (format, shapes, latent channels) as any model is. A file that fails
is deleted and the pull is one clear ``ModelError``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from morphapp.core.cancel import CancelToken
from morphapp.errors import Cancelled, ModelError
from morphapp.models import hf_cache
from morphapp.models.info import ModelInfo
from morphapp.models.reachability import unreachable
from morphapp.models.registry import KNOWN_MODELS, KnownFile, KnownModel, known_model
from morphapp.models.scan_cache import ScanCache
from morphapp.models.weights import sha256_file

ENDPOINT_VARS = ("MORPHAPP_HF_ENDPOINT", "HF_ENDPOINT")
DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PullProgress:
    model: str
    filename: str
    file_index: int  # 1-based
    file_count: int
    done: int  # bytes of this file so far
    total: int | None  # None until the server says


@dataclass(frozen=True)
class PulledFile:
    filename: str
    path: Path  # in the HF cache snapshot
    sha256: str
    size: int
    verified: bool  # True only when it matched a SHA-256 pinned in the registry


@dataclass(frozen=True)
class PullResult:
    model: ModelInfo
    files: tuple[PulledFile, ...]

    @property
    def verified(self) -> bool:
        return all(f.verified for f in self.files)


def endpoint() -> str | None:
    """The hub to download from: ``MORPHAPP_HF_ENDPOINT``, else ``HF_ENDPOINT``, else huggingface.co."""
    for var in ENDPOINT_VARS:
        if os.environ.get(var):
            return os.environ[var].rstrip("/")
    return None


def pull(
    model: str | KnownModel,
    *,
    progress: Callable[[PullProgress], None] | None = None,
    cancel: CancelToken | None = None,
    cache_dir: Path | None = None,
) -> PullResult:
    """Download a known model (by name, or a ``KnownModel``) and return it described and checked."""
    known = model if isinstance(model, KnownModel) else known_model(model)
    if known is None:
        raise ModelError(f"{model}: not a model morphapp can pull (known: {', '.join(KNOWN_MODELS)})")
    if _offline():
        raise ModelError(_offline_message(known, "HF_HUB_OFFLINE is set"))
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise ModelError("pulling models needs huggingface_hub: pip install huggingface_hub") from exc
    # huggingface_hub retries an unreachable host five times over ~24 s, logging each try: ask once.
    problem = unreachable(endpoint() or DEFAULT_ENDPOINT)
    if problem is not None:
        raise ModelError(_offline_message(known, problem))
    cache = hf_cache.hub_cache_dir() if cache_dir is None else cache_dir
    pulled: list[PulledFile] = []
    with _quiet_hub_logging():
        for index, known_file in enumerate(known.files, 1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            meta = PullProgress(known.name, known_file.filename, index, len(known.files), 0, None)
            try:
                local = hf_hub_download(
                    repo_id=known.repo,
                    filename=known_file.filename,
                    revision=known.revision,
                    cache_dir=str(cache),
                    endpoint=endpoint(),
                    tqdm_class=_progress_class(meta, progress, cancel),
                )
            except Cancelled:
                raise
            except Exception as exc:  # network libraries raise many types; each becomes one clear message
                raise _download_error(known, known_file, exc) from exc
            pulled.append(_verify(known_file, Path(local)))
    return PullResult(_describe(known, pulled), tuple(pulled))


@contextlib.contextmanager
def _quiet_hub_logging() -> Iterator[None]:
    """huggingface_hub's per-retry warnings are not for artists; our error says what failed."""
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_logger.setLevel(level)


def _verify(known_file: KnownFile, local: Path) -> PulledFile:
    blob = local.resolve()
    sha = sha256_file(blob)
    size = blob.stat().st_size
    problem = None
    if known_file.sha256 is not None and sha != known_file.sha256.lower():
        problem = f"its SHA-256 {sha} is not the expected {known_file.sha256}"
    elif known_file.size is not None and size != known_file.size:
        problem = f"it has {size} bytes, not the expected {known_file.size}"
    elif _SHA256.match(blob.name) and blob.name != sha:
        # For large (LFS) files the hub's ETag is the SHA-256 of the content, and names the blob.
        problem = f"its SHA-256 {sha} is not the {blob.name} the server announced (damaged in transfer)"
    if problem:
        _discard(local)
        raise ModelError(f"{known_file.filename}: download rejected and deleted: {problem}; try again")
    return PulledFile(known_file.filename, local, sha, size, known_file.sha256 is not None)


def _describe(known: KnownModel, pulled: list[PulledFile]) -> ModelInfo:
    """The pulled files must make the model the registry promises: a TAE of the right latent space."""
    from morphapp.models.discovery import scan

    folder = pulled[0].path.parent
    result = scan([folder], cache=ScanCache(None))
    ours = {f.path for f in pulled}
    info = next((m for m in result.models if m.usable and set(m.files) <= ours), None)
    problem = None
    if info is None:
        why = f" ({result.skipped[0]})" if result.skipped else ""
        problem = f"the files are not a usable TAE model{why}"
    elif info.latent_channels != known.latent_channels:
        problem = f"{info.latent_channels} latent channels, not the expected {known.latent_channels}"
    if info is None or problem:
        for f in pulled:
            _discard(f.path)
        raise ModelError(f"{known.name}: download rejected and deleted: {problem}")
    return replace(info, name=known.name, source=f"HF cache {known.repo}")


def _discard(local: Path) -> None:
    """Delete a cache entry: the snapshot link and the blob it points to."""
    blob = local.resolve()
    for path in (local, blob):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _progress_class(
    meta: PullProgress, report: Callable[[PullProgress], None] | None, cancel: CancelToken | None
) -> type:
    """A tqdm stand-in for hf_hub_download: forwards byte counts, and is where a cancel lands."""

    class _Progress:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.total = kwargs.get("total")
            self.n = kwargs.get("initial") or 0
            self._emit()

        def update(self, n: float | None = 1) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()  # raised inside the transfer loop: hf removes its temp file
            self.n += int(n or 0)
            self._emit()

        def _emit(self) -> None:
            if report is not None:
                report(replace(meta, done=self.n, total=self.total))

        def close(self) -> None:
            pass

        def __enter__(self) -> _Progress:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    return _Progress


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _offline_message(known: KnownModel, why: str) -> str:
    folder = Path(platformdirs.user_data_dir("morphapp", appauthor=False)) / "models" / known.name
    base = f"{endpoint() or DEFAULT_ENDPOINT}/{known.repo}/resolve/{known.revision}"
    urls = ", ".join(f"{base}/{f.filename}" for f in known.files)
    return (
        f"no network ({why}): cannot fetch {known.name}. On a machine that is online download {urls}; "
        f"copy the file{'s' if len(known.files) > 1 else ''} into {folder} (or any folder named in "
        "MORPHAPP_MODEL_PATH); `morphapp models` then lists it"
    )


def _download_error(known: KnownModel, known_file: KnownFile, exc: Exception) -> ModelError:
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{known.repo}/{known_file.filename}"
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        return ModelError(_offline_message(known, "the hub could not be reached"))
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError, RemoteEntryNotFoundError)):
        return ModelError(f"{where}: not on the hub ({type(exc).__name__}); the registry may be out of date")
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelError(f"{where}: download failed ({first_line}); run the same command again to retry")
