"""A project's music: for an export, and keyframes on its beats; one rule (and one note) for both faces."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from morphapp.core.domain.project import Project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.notes import NoteFn
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.errors import InputError
from morphapp.export import FORMATS, format_for_path
from morphapp.export.audio import AUDIO_CODECS, AudioSource

if TYPE_CHECKING:  # the beat tracker imports PyAV: loaded when music is really timed
    from morphapp.music.beats import BeatTiming


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


def settings_on_beats(
    settings: MorphSettings, keyframes: int, beats: np.ndarray, beats_per_keyframe: int | None = None
) -> tuple[MorphSettings, BeatTiming]:
    """Settings that put every keyframe on a beat: segment lengths from the beats (each segment's
    easing kept), no rests (they would push every later keyframe off its beat), stored as segments,
    the one timing; and where the music starts. The CLI's ``--audio`` and the window's Snap to
    Beats store the same project fields (they differed: frames per segment vs segments)."""
    from morphapp.music.beats import keyframes_on_beats

    if settings.loop != "none":
        raise InputError("--loop: keyframes on beats need --loop none")
    timing = keyframes_on_beats(beats, keyframes, float(settings.fps), beats_per_keyframe)
    eases = [spec.ease for spec in settings.segment_specs(keyframes)]
    lengths = timing.segment_frames
    segments = tuple(SegmentSpec(frames, ease) for frames, ease in zip(lengths, eases, strict=True))
    snapped = dataclasses.replace(settings, frames=None, segment_frames=lengths, segments=segments, hold=0)
    snapped.validate()
    return snapped, timing
