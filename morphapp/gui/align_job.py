"""Auto-align off the GUI thread: one job at a time, cancellable.

The engine's ``align_keyframes`` takes 0.1-3 s per pair on a 2-core CPU (faces, or features and
optical flow); on the GUI thread that froze the window. ``AlignRunner.start`` hands the job to a
``BackgroundJobs`` thread and returns at once; ``finished`` brings the points (or None when
cancelled) and the status line back to the GUI thread. A cancelled job's result is dropped even if
the worker was past its last cancel point.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from morphapp.app.semantic import SemanticModels
from morphapp.core.align.auto import align_keyframes
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.domain.settings import MorphSettings
from morphapp.gui.background_job import BackgroundJobs, Job, Report
from morphapp.models.info import ModelInfo

Found = tuple[tuple[SegmentPoints, ...], str]  # points per segment (none after an error), status text


def _align(
    models: SemanticModels, keyframes: Sequence[Keyframe], settings: MorphSettings,
    semantic: tuple[ModelInfo, str] | None, cancel: CancelToken, _report: Report,
) -> Found:  # fmt: skip
    lines: list[str] = []
    if semantic is None:
        models.release()
    aligner = models.aligner(*semantic, lines.append) if semantic is not None else None
    found = align_keyframes(keyframes, settings, lines.append, cancel=cancel, semantic=aligner)
    # One line each: what was done in words, then the figures (the status bar shows the words).
    return found, "\n".join(line.removeprefix("segment 1: ") for line in lines)


class AlignRunner(QObject):
    finished = Signal(object, object, str)  # tag, points per segment or None (cancelled), status text

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = BackgroundJobs(self, "morphapp-align")
        self._models = SemanticModels()
        self._tag: object = None
        self._job: Job[Found] | None = None

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(
        self, keyframes: Sequence[Keyframe], settings: MorphSettings, tag: object = None,
        semantic_model: ModelInfo | None = None,
        device: str = "auto",
    ) -> None:  # fmt: skip
        """Align ``keyframes`` (a new job replaces a running one); ``tag`` comes back with the result.
        ``semantic_model``: a diffusion model whose features pair points too (``--align-model``),
        loaded on ``device``."""
        self.cancel()
        self._tag = tag
        semantic = None if semantic_model is None else (semantic_model, device)
        work = functools.partial(_align, self._models, tuple(keyframes), settings, semantic)
        self._job = self._jobs.run(work, on_result=self._on_found, on_error=self._on_error)

    def release_models(self) -> None:
        """Free a diffusion model loaded for semantic points (after the running job, if any)."""
        models = self._models  # the job holds the models, not this QObject
        self._jobs.run(lambda _cancel, _report: models.release())

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()  # its late result is dropped: the artist has moved on
            self._job = None
            self.finished.emit(self._tag, None, "Auto-align cancelled.")

    def stop(self) -> None:
        self.cancel()
        self._jobs.stop()

    def _on_found(self, found: Found) -> None:
        self._job = None
        self.finished.emit(self._tag, *found)

    def _on_error(self, message: str) -> None:
        self._job = None
        self.finished.emit(self._tag, (), message)
