"""A project's music, for an export: one rule (and one note) for both faces."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from morphapp.core.images import file_sha256
from morphapp.core.project import Project
from morphapp.export import FORMATS, format_for_path
from morphapp.export.audio import AUDIO_CODECS, AudioSource

NoteFn = Callable[[str], None]


def project_music(project: Project, target: Path, format: str | None, note: NoteFn) -> AudioSource | None:
    """The project's music for an export to ``target``: None (said) where the format has no audio
    track; a note where the file changed since the project was saved (its beats may have moved)."""
    recorded = project.audio
    if recorded is None:
        return None
    fmt = FORMATS[format] if format is not None else format_for_path(target)
    if fmt.container not in AUDIO_CODECS:
        note(f"the project's music ({recorded.path.name}) is left out: {target.name} has no audio track")
        return None
    audio = dataclasses.replace(AudioSource.open(recorded.path), start=recorded.start)
    if recorded.sha256 and file_sha256(recorded.path) != recorded.sha256:
        note(f"{recorded.path.name} changed since the project was saved; its beats may no longer match")
    return audio
