"""Remember what each model folder held, so that a scan opens no model file twice.

Identifying a model means reading its weights (a TAE's shapes) or at least its header; listing a
folder only costs a ``scandir``. The cache maps each scanned folder to the signature of its
model files (the folder's mtime, and every candidate file's name, size and mtime) and to what
was found there. A folder whose signature is unchanged is not opened again. The cache is one
JSON file in the user cache dir, tagged with morphapp's version (a new version may identify
files differently); an unreadable or foreign cache file is simply rebuilt.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import platformdirs

from morphapp import __version__
from morphapp.errors import MorphError

CACHE_NAME = "model-scan.json"
FORMAT = 1


def default_cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("morphapp", appauthor=False)) / CACHE_NAME


class ScanCache:
    """Folder path -> (signature, models, skipped). ``path=None`` gives a cache that remembers nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._used: set[str] = set()
        self._dirty = False
        if path is not None:
            self._entries = _read(path)

    def get(self, folder: str, signature: list[Any]) -> dict[str, Any] | None:
        entry = self._entries.get(folder)
        if entry is None or entry.get("signature") != signature:
            return None
        self._used.add(folder)
        return entry

    def put(
        self, folder: str, signature: list[Any], models: list[dict[str, Any]], skipped: list[str]
    ) -> None:
        self._entries[folder] = {"signature": signature, "models": models, "skipped": skipped}
        self._used.add(folder)
        self._dirty = True

    def save(self, prune: bool = False) -> None:
        """Write the cache if it changed; ``prune`` drops folders this scan did not visit."""
        if prune and set(self._entries) != self._used:
            self._entries = {k: v for k, v in self._entries.items() if k in self._used}
            self._dirty = True
        if self.path is None or not self._dirty:
            return
        from morphapp.core.atomic import atomic_write_text

        doc = {"format": FORMAT, "morphapp": __version__, "folders": self._entries}
        # A cache that cannot be written only costs the next start-up some time.
        with contextlib.suppress(OSError, MorphError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(doc, separators=(",", ":")))
        self._dirty = False


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("morphapp") != __version__:
        return {}
    folders = doc.get("folders")
    return folders if isinstance(folders, dict) else {}
