"""Models already in the Hugging Face hub cache, found by reading its layout (no network, no import).

The cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``) keeps one
folder per repository, ``models--{org}--{name}``, with ``refs/main`` naming a commit and
``snapshots/{commit}/`` holding the files (symlinks into ``blobs/``). We list the snapshots of
the repositories ``morphapp models pull`` knows, and of any repository whose snapshot is a
diffusers pipeline (``model_index.json``); other repositories (language models, data sets) are
not ours to scan.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Snapshot:
    repo: str  # "org/name"
    path: Path  # .../models--org--name/snapshots/<commit>
    repo_folder: Path  # .../models--org--name: symlinks into its blobs/ are inside the model


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps its cache, read from the environment each time (tests change it)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.path.expandvars(os.environ[var])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "hub"
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "huggingface" / "hub"


def repo_folder(repo: str, cache: Path | None = None) -> Path:
    return (hub_cache_dir() if cache is None else cache) / ("models--" + repo.replace("/", "--"))


def snapshots(known: Mapping[str, str], cache: Path | None = None) -> list[Snapshot]:
    """Snapshots of known repositories, then of diffusers pipelines, each at its ``main`` commit."""
    cache = hub_cache_dir() if cache is None else cache
    try:
        folders = sorted(p for p in cache.iterdir() if p.name.startswith("models--") and p.is_dir())
    except OSError:
        return []
    found: list[Snapshot] = []
    for folder in folders:
        repo = folder.name.removeprefix("models--").replace("--", "/", 1)
        snapshot = current_snapshot(folder)
        if snapshot is None:
            continue
        if repo in known or (snapshot / "model_index.json").is_file():
            found.append(Snapshot(repo, snapshot, folder))
    found.sort(key=lambda s: (s.repo not in known, s.repo))
    return found


def current_snapshot(folder: Path) -> Path | None:
    """The snapshot ``refs/main`` points at, else the most recently written one."""
    try:
        commit = (folder / "refs" / "main").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        commit = ""
    if _COMMIT.match(commit) and (folder / "snapshots" / commit).is_dir():
        return folder / "snapshots" / commit
    try:
        candidates = [p for p in (folder / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime_ns, default=None)
