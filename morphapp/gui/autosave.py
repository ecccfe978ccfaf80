"""Autosave to the user data dir, and recovery after a crash.

While the app runs, a lock file marks the session as live; a clean exit removes it together
with the autosave. Finding an autosave whose session lock is stale (its process is gone) at
start-up means the last session crashed, so the app offers to recover it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import platformdirs

from morphapp.core.atomic import atomic_write_text
from morphapp.core.domain.project import Project, project_from_dict, project_to_dict
from morphapp.errors import MorphError


def autosave_dir() -> Path:
    return Path(platformdirs.user_data_dir("morphapp", appauthor=False)) / "autosave"


class Autosave:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or autosave_dir()
        self.file = self.folder / "autosave.json"
        self.lock = self.folder / "session.lock"

    def start_session(self) -> Project | None:
        """Claim the session; return the project a crashed session left behind, if any."""
        self.folder.mkdir(parents=True, exist_ok=True)
        recovered = self._crashed_project()
        atomic_write_text(self.lock, str(os.getpid()))
        return recovered

    def save(self, project: Project) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        doc = {"project": project_to_dict(project, self.folder), "base": str(self.folder)}
        atomic_write_text(self.file, json.dumps(doc))

    def end_session(self) -> None:
        for path in (self.file, self.lock):
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)

    def _crashed_project(self) -> Project | None:
        if not self.file.is_file():
            return None
        if self.lock.is_file() and _process_alive(self.lock):
            return None  # another morphapp window is running and owns this autosave
        try:
            doc = json.loads(self.file.read_text(encoding="utf-8"))
            return project_from_dict(doc["project"], Path(doc["base"]), str(self.file))
        except (OSError, ValueError, KeyError, TypeError, MorphError):
            self.discard()  # unreadable autosave: nothing to offer
            return None


def _process_alive(lock: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        pid = int(lock.read_text().strip())
        if pid == os.getpid():
            return False
        os.kill(pid, 0)
        return True
    return False
