"""The open project as a Qt view model: keyframes, settings, file path, undo stack, dirty flag.

Every edit goes through a QUndoCommand, so undo/redo, the dirty flag and the preview's
re-render all follow from one signal, ``changed``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from morphapp.app.music import settings_on_beats
from morphapp.core.domain.keyframes import (
    MAX_PROMPT_CHARS,
    AnyKeyframe,
    ExprKeyframe,
    Keyframe,
    PromptKeyframe,
    describe_keyframe,
)
from morphapp.core.domain.project import Project, ProjectAudio, load_project, save_project, with_hashes
from morphapp.core.domain.settings import (
    NEW_MORPH_HOLD,
    NEW_MORPH_PACING,
    NEW_MORPH_SEGMENT_FRAMES,
    MorphSettings,
    new_morph_timing,
)
from morphapp.core.timeline.music import reactive_segments
from morphapp.core.timeline.plan import SegmentSpec, distribute_frames, segment_pairs
from morphapp.errors import InputError, MorphError
from morphapp.models.project_model import find_project_model, model_for_project, with_model

# A new morph: the command line's length, rests and even pacing; a project opened keeps its own.
NEW_MORPH_SETTINGS = MorphSettings(
    pacing=NEW_MORPH_PACING, segment_frames=(NEW_MORPH_SEGMENT_FRAMES,), hold=NEW_MORPH_HOLD
)


class Document(QObject):
    changed = Signal()  # keyframes or settings changed (the preview re-renders)
    path_changed = Signal()  # file name or dirty state changed (the title updates)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self.path_changed)
        self._keyframes: tuple[AnyKeyframe, ...] = ()
        self._settings = NEW_MORPH_SETTINGS
        self._model: str | None = None
        # The project's music: added in the window (Add Music…) or by the CLI's --audio.
        self._audio: ProjectAudio | None = None
        # The project as its file has it (opened or saved), for its model record (name, files, latent
        # space): saving keeps that record unless a model of that space is found here or the artist
        # chose another model.
        self._in_file = Project((), NEW_MORPH_SETTINGS)
        self.path: Path | None = None
        # One edit of a field is one undo step: while a field has focus its changes share this
        # token and merge into one command (``gui/field_edits.py`` opens and closes it).
        self._edit_token: object | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def keyframes(self) -> tuple[AnyKeyframe, ...]:
        return self._keyframes

    @property
    def settings(self) -> MorphSettings:
        return self._settings

    @property
    def model(self) -> str | None:
        return self._model

    @property
    def audio(self) -> ProjectAudio | None:
        return self._audio

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def project(self) -> Project:
        return Project(self._keyframes, self._settings, self._model)

    def can_render(self) -> bool:
        return len(self._keyframes) >= 2

    def segments(self) -> list[SegmentSpec]:
        """Per-segment steps and easing for the current keyframes (defaults where unset)."""
        n_segments = len(segment_pairs(max(2, len(self._keyframes)), self._settings.loop))
        current = list(self._settings.segments or ())
        default = SegmentSpec(
            self._settings.segment_frames[-1], self._settings.ease
        )  # a new segment's length
        return (current + [default] * n_segments)[:n_segments]

    def total_frames(self) -> int:
        from morphapp.core.render.frames import plan_for

        if not self.can_render():
            return 0
        return len(plan_for(self._normalised(self._settings), len(self._keyframes)))

    # -- edits (undoable) ------------------------------------------------------------------------
    def add_keyframes(self, paths: Sequence[Path], index: int | None = None) -> None:
        at = len(self._keyframes) if index is None else index
        new = self._keyframes[:at] + tuple(Keyframe(Path(p)) for p in paths) + self._keyframes[at:]
        label = f"Add {len(paths)} keyframe{'s' if len(paths) != 1 else ''}"
        self._push(label, keyframes=new)

    def add_prompt_keyframe(self, prompt: str, index: int | None = None, seed: int | None = None) -> None:
        """A text keyframe (diffusion models): its picture comes from the prompt and a seed."""
        text = prompt.strip()
        if not text:
            raise InputError("a prompt keyframe needs some text")
        if len(text) > MAX_PROMPT_CHARS:
            raise InputError(f"a prompt of {len(text):,} characters: at most {MAX_PROMPT_CHARS} are allowed")
        at = len(self._keyframes) if index is None else index
        new = (*self._keyframes[:at], PromptKeyframe(text, seed), *self._keyframes[at:])
        self._push(f"Add prompt “{text[:30]}”", keyframes=new)

    def add_expression_keyframe(self, keyframe: ExprKeyframe, index: int | None = None) -> None:
        """A keyframe computed from others (latent arithmetic), e.g. ``a.png - b.png + c.png``."""
        at = len(self._keyframes) if index is None else index
        new = (*self._keyframes[:at], keyframe, *self._keyframes[at:])
        self._push(f"Add expression “{keyframe.text(names=True)[:30]}”", keyframes=new)

    def replace_keyframe(self, index: int, keyframe: AnyKeyframe) -> None:
        if keyframe != self._keyframes[index]:
            new = (*self._keyframes[:index], keyframe, *self._keyframes[index + 1 :])
            self._push(f"Edit keyframe {index + 1}", keyframes=new)

    def set_audio(self, audio: ProjectAudio | None) -> None:
        """Music for the morph (None: none); exports to MP4/WebM/MOV carry it."""
        if audio != self._audio:
            self._push("Remove music" if audio is None else f"Music {audio.path.name}", audio=audio)

    def snap_to_beats(
        self, beats: Sequence[float] | np.ndarray, beats_per_keyframe: int | None = None
    ) -> str:
        """Segment lengths that put every keyframe on a beat, and the music starting at the first:
        the CLI's ``--audio`` timing, as one undo step. Returns a line for the status bar."""
        s = self._settings
        if self._audio is None:
            raise InputError("add music first (File ▸ Add Music…)")
        # The CLI's --audio rule (app/music.py): segments from the beats, easings kept, no rests.
        settings, timing = settings_on_beats(  # the document's own segments (its easings) go in
            dataclasses.replace(s, segments=tuple(self.segments())), len(self._keyframes),
            np.asarray(beats, dtype=np.float64), beats_per_keyframe,
        )  # fmt: skip
        audio = dataclasses.replace(self._audio, start=timing.start)
        self._push("Snap keyframes to beats", settings=settings, audio=audio)
        beats_used = ", ".join(str(b + 1) for b in timing.beat_indices)
        rests = "; the rests on the keyframes are off (the beats set the timing)" if s.hold else ""
        return f"Keyframes on beats {beats_used}; the music starts at {timing.start:.2f} s{rests}"

    def music_reactive(self, times: np.ndarray, onsets: np.ndarray) -> str:
        """Each segment's in-betweens spaced by the music's onset strength (``--audio-reactive``):
        the morph moves faster on loud passages, keyframes stay on their frames. One undo step."""
        if self._audio is None:
            raise InputError("add music first (File ▸ Add Music…)")
        if not onsets.size:
            raise InputError(
                "music-reactive spacing needs the music's onsets (librosa: pip install 'morphapp[music]')"
            )
        start = self._audio.start
        segments, ratio = reactive_segments(self.segments(), times, onsets, start, float(self._settings.fps))
        self.set_settings("Music-reactive spacing", segments=segments)
        return f"In-betweens spaced by the music's loudness (largest frame step {ratio:.1f}x the smallest)"

    def remove_keyframe(self, index: int) -> None:
        name = describe_keyframe(self._keyframes[index])
        self._push(f"Remove {name}", keyframes=self._keyframes[:index] + self._keyframes[index + 1 :])

    def move_keyframe(self, source: int, target: int) -> None:
        items = list(self._keyframes)
        items.insert(target, items.pop(source))
        self._push("Reorder keyframes", keyframes=tuple(items))

    def set_settings(self, label: str, **changes: object) -> None:
        new = dataclasses.replace(self._settings, **changes)  # type: ignore[arg-type]
        if new != self._settings:
            self._push(label, settings=new)

    def set_total_frames(self, total: int) -> None:
        """Spread a total frame count over the segments, keeping each segment's easing."""
        if self.can_render():
            self.set_settings("Change frame count", segments=self._spread(total))

    def set_fps(self, fps: float) -> None:
        """A new frame rate that keeps the morph's duration (an artist times to music, not frames):
        one undo step for both."""
        if not self.can_render():
            self.set_settings("Change fps", fps=fps)
            return
        duration = self.total_frames() / self._settings.fps
        self.set_settings("Change fps", fps=fps, segments=self._spread(max(2, round(duration * fps))))

    def _spread(self, total: int) -> tuple[SegmentSpec, ...]:
        s = self._settings
        steps = distribute_frames(max(total, 2), len(self._keyframes), s.loop, s.hold)
        return tuple(map(SegmentSpec, steps, [seg.ease for seg in self.segments()]))

    def set_segment(self, index: int, steps: int | None = None, ease: str | None = None) -> None:
        segments = self.segments()
        old = segments[index]
        segments[index] = SegmentSpec(steps or old.steps, ease or old.ease)
        self.set_settings(f"Change segment {index + 1}", segments=tuple(segments))

    def set_model(self, model: str | None, *, diffusion: bool = False) -> None:
        """Render with ``model``; a morph whose timing is still a new morph's takes the new-morph
        timing of that kind of model (a diffusion frame costs seconds), in the same undo step."""
        if model == self._model:
            return
        retimed = self._timing_for_model(diffusion)
        if retimed is None:
            self._push("Change model", model=model)
        else:
            self._push("Change model", model=model, settings=retimed)

    def _timing_for_model(self, diffusion: bool) -> MorphSettings | None:
        """The settings with the new-morph timing for ``diffusion``, when the artist has not timed the
        morph (every segment and the rests as a new morph of either kind has them); else None."""
        s = self._settings
        steps = {segment.steps for segment in self.segments()}
        kinds = (new_morph_timing(diffusion=False), new_morph_timing(diffusion=True))
        untimed = s.frames is None and any(steps == {frames} and s.hold == hold for frames, hold in kinds)
        frames, hold = new_morph_timing(diffusion)
        if not untimed or (steps, s.hold) == ({frames}, hold):
            return None
        segments = None if s.segments is None else tuple(SegmentSpec(frames, seg.ease) for seg in s.segments)
        return dataclasses.replace(s, segment_frames=(frames,), hold=hold, segments=segments)

    # -- files ---------------------------------------------------------------------------------
    def load(self, path: Path) -> list[str]:
        """Open a project; returns notes on what changed since it was saved (model files)."""
        project = load_project(path)  # raises InputError before anything changes
        # The window renders with autoencoders and shows keyframes as images; a diffusion project
        # (prompt keyframes) renders from the CLI for now.
        # The CLI's rule (issue 23): a model of the latent space the project was made in, or its
        # error; another space would give entirely different frames.
        model = project.model
        try:
            info, notes = model_for_project(project)
            if model is None and project.model_latent_channels is not None:
                # The preview renders with the document's model, else the default one, which may be
                # of another space: name the one found (the CLI names it in the project too).
                model = info.name
        except MorphError as exc:
            notes = [str(exc)]
        self._in_file = dataclasses.replace(project, model=model)
        self._keyframes, self._settings, self._model = project.keyframes, project.settings, model
        self._audio = project.audio
        self.path = Path(path)
        self.undo_stack.clear()
        self.changed.emit()
        self.path_changed.emit()
        return notes

    def clear(self) -> None:
        self._keyframes, self._settings, self._model = (), NEW_MORPH_SETTINGS, None
        self._audio = None
        self._in_file = Project((), NEW_MORPH_SETTINGS)
        self.path = None
        self.undo_stack.clear()
        self.changed.emit()
        self.path_changed.emit()

    def save(self, path: Path) -> None:
        in_file = self._in_file
        project = dataclasses.replace(
            with_hashes(self.project_for_saving()), model_files=in_file.model_files,
            model_latent_channels=in_file.model_latent_channels,
        )  # fmt: skip
        # Record the model's files, so reopening notices a changed model. The project's own model (or
        # none) must be of its latent space, as in the CLI; a model the artist chose is their call. With
        # no such model here, the record read from the file stays (and the project is still worth saving).
        with contextlib.suppress(MorphError):
            project = with_model(project, find_project_model(project, explicit=self._model != in_file.model))
        save_project(project, path)
        self._in_file = project
        self.path = Path(path)
        self.undo_stack.setClean()
        self.path_changed.emit()

    def project_for_saving(self) -> Project:
        return Project(self._keyframes, self._normalised(self._settings), self._model, audio=self._audio)

    def restore(self, project: Project) -> None:
        """Take over a recovered autosave as an unsaved edit (undoable)."""
        self._push(
            "Recover autosave", keyframes=project.keyframes, settings=project.settings, model=project.model,
            audio=project.audio,
        )  # fmt: skip

    def open_field_edit(self, field: object) -> None:
        """Changes from now until ``close_field_edit`` merge into one undo step per label."""
        self._edit_token = (field, object())

    def close_field_edit(self) -> None:
        self._edit_token = None

    # -- internals -----------------------------------------------------------------------------
    def _normalised(self, settings: MorphSettings) -> MorphSettings:
        """Settings with explicit segments matching the current keyframe count."""
        return dataclasses.replace(settings, segments=tuple(self.segments()), frames=None)

    def _push(self, label: str, **state: object) -> None:
        self.undo_stack.push(_StateCommand(self, label, state, self._edit_token))

    def _apply(self, state: dict[str, object]) -> None:
        self._keyframes = state.get("keyframes", self._keyframes)  # type: ignore[assignment]
        self._settings = state.get("settings", self._settings)  # type: ignore[assignment]
        self._model = state.get("model", self._model)  # type: ignore[assignment]
        self._audio = state.get("audio", self._audio)  # type: ignore[assignment]
        self.changed.emit()

    def _snapshot(self, keys: Sequence[str]) -> dict[str, object]:
        current = {"keyframes": self._keyframes, "settings": self._settings, "model": self._model,
                   "audio": self._audio}  # fmt: skip
        return {k: current[k] for k in keys}


class _StateCommand(QUndoCommand):
    """Swap parts of the document state; undo swaps them back. Commands of one field edit (the
    same ``token``, label and parts) merge: ten wheel notches or keystrokes are one undo step."""

    MERGEABLE = 1  # QUndoCommand.id(): QUndoStack offers merges only between equal, non-negative ids

    def __init__(
        self, doc: Document, label: str, new: dict[str, object], token: object | None = None
    ) -> None:
        super().__init__(label)
        self._doc = doc
        self._new = new
        self._old = doc._snapshot(list(new))
        self._token = token

    def id(self) -> int:
        return -1 if self._token is None else self.MERGEABLE

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (
            isinstance(other, _StateCommand)
            and other._token is self._token
            and other.text() == self.text()
            and other._new.keys() == self._new.keys()
        ):
            return False
        self._new = other._new
        if self._new == self._old:
            self.setObsolete(True)  # back where the edit started: no undo step at all
        return True

    def redo(self) -> None:
        self._doc._apply(self._new)

    def undo(self) -> None:
        self._doc._apply(self._old)
