"""Keeps the preview's frames in step with the document, rendering nearest-to-the-playhead first."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QImage

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import plan_for
from morphapp.core.timeline.plan import FrameSpec
from morphapp.errors import MorphError
from morphapp.gui.document import Document
from morphapp.gui.engine_worker import (
    EncodeJob,
    EngineWorker,
    ExportJob,
    ModelChoice,
    PreviewJob,
    PreviewPass,
    to_qimage,
)

PREVIEW_MAX_SIDE = 512  # frames are kept at display size, so a long morph stays a few MB a second
# The first frame is drafted at half size (a quarter of the work) so an in-between shows at
# once; the full-size pass then replaces them.
DRAFT_FRAMES = 1


class EngineThread(QObject):
    """Owns the worker thread and the queued signals that post jobs to it."""

    post_encode = Signal(object)
    post_preview = Signal(object)
    post_export = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker_thread = QThread()
        self._worker_thread.setObjectName("morphapp-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self._worker_thread)
        for post in (self.post_encode, self.post_preview, self.post_export):
            # Counted at once on this thread (a calibration on the engine thread yields to the job).
            post.connect(self.worker.job_posted, Qt.ConnectionType.DirectConnection)
        self.post_encode.connect(self.worker.encode)
        self.post_preview.connect(self.worker.preview)
        self.post_export.connect(self.worker.export)
        self._worker_thread.start()

    def stop(self) -> None:
        # Counted as a waiting job, so a calibration on the engine thread stops between candidates
        # (cancelled renders stop between frames). Then wait for the thread however long the current
        # frame takes: a QThread destroyed while it runs aborts the whole app (seen under load, when
        # a calibration outlasted a 30-s wait).
        self.worker.job_posted()
        self._worker_thread.quit()
        self._worker_thread.wait()


class PreviewController(QObject):
    frame_updated = Signal(int)  # a frame index whose image arrived
    frames_reset = Signal(int)  # new frame count; all images dropped
    status = Signal(str)
    error = Signal(str)
    finished = Signal(float)  # seconds the full preview took

    def __init__(self, document: Document, engine: EngineThread, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.engine = engine
        self.choice = ModelChoice(None)
        self.frames: dict[int, QImage] = {}
        self.drafts: set[int] = set()  # indices whose image is still a draft
        self._pictures: dict[tuple[object, ...], QImage] = {}  # keyframe pictures shown before decoding
        self.draft_first = True
        self.total = 0
        self.plan: list[FrameSpec] = []
        self.playhead = 0
        self.generation = 0
        self.failure: str | None = None  # why the current preview could not be rendered
        self._job: PreviewJob | None = None
        self._encode_job: EncodeJob | None = None
        self._signature: object = None
        self._seen: object = None  # the keyframes, settings and model the last schedule saw
        # Edits often come in bursts (typing a number, dragging a spin box): wait for a pause.
        self._debounce = QTimer(self, singleShot=True, interval=120)
        self._debounce.timeout.connect(self.restart)
        self._refocus = QTimer(self, singleShot=True, interval=80)
        self._refocus.timeout.connect(self._refocus_job)
        engine.worker.frame_ready.connect(self._on_frame)
        engine.worker.preview_done.connect(self._on_done)
        engine.worker.preview_failed.connect(self._on_failed)
        engine.worker.model_missing.connect(self._on_failed)  # no model: nothing will arrive either
        document.changed.connect(self._document_changed)

    def set_choice(self, choice: ModelChoice) -> None:
        if choice != self.choice:
            self.choice = choice
            self._signature = None
            self.schedule()

    def model_choice(self) -> ModelChoice:
        """The choice with the document's own model, when it names one (a project, the Model list)."""
        model = self.document.model
        return self.choice if model is None else dataclasses.replace(self.choice, model=model)

    def set_playhead(self, index: int) -> None:
        self.playhead = index
        if self._job is not None and index not in self.frames:
            self._refocus.start()

    def _refocus_job(self) -> None:
        """The artist scrubbed to a frame not rendered yet: render the missing ones nearest it first."""
        if self._job is not None and self.playhead not in self.frames:
            self.render_missing()

    def render_missing(self) -> None:
        """(Re)start rendering only the frames not at full quality yet, nearest the playhead first."""
        if self._job is not None:
            self._job.cancel.cancel()
        self._job = None
        if not self.document.can_render() or self.total == 0 or self.complete():
            return
        nearest = nearest_first(self.total, self.playhead)
        missing = [i for i in nearest if i not in self.frames or i in self.drafts]
        passes = [PreviewPass(self._settings(), missing)]
        self._job = PreviewJob(self.generation, self.document.keyframes, passes, self.model_choice())
        self.engine.post_preview.emit(self._job)

    def _document_changed(self) -> None:
        doc = self.document
        seen = (doc.keyframes, doc.settings, doc.model)
        if seen == self._seen and self.total:
            return  # an edit that changes no frame (the music): keep the preview
        self._seen = seen
        self.schedule()

    def schedule(self) -> None:
        self._pre_encode()
        self._debounce.start()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()
            self._job = None

    def _settings(self, max_side: int = PREVIEW_MAX_SIDE) -> MorphSettings:
        doc = self.document
        s = doc._normalised(doc.settings)
        width, height = s.size
        scale = min(1.0, max_side / max(width, height))
        if scale < 1.0:  # preview at display size; export renders full size
            size = (max(8, int(width * scale) // 8 * 8), max(8, int(height * scale) // 8 * 8))
            s = dataclasses.replace(s, size=size)
        return s

    def _draft_settings(self) -> MorphSettings | None:
        full = self._settings()
        if not self.draft_first or max(full.size) < 128:
            return None  # small previews are cheap already
        return self._settings(max(full.size) // 2)

    def _pre_encode(self) -> None:
        """Encode a lone first keyframe while the artist fetches the second one.

        With two or more keyframes the preview job encodes what it needs itself, draft size
        first; a separate encode job would only queue in front of it on the engine thread.
        """
        if len(self.document.keyframes) != 1:
            return
        if self._encode_job is not None:
            self._encode_job.cancel.cancel()
        draft = self._draft_settings()
        sizes = [draft, self._settings()] if draft is not None else [self._settings()]
        self._encode_job = EncodeJob(self.document.keyframes, sizes, self.model_choice())
        self.engine.post_encode.emit(self._encode_job)

    def restart(self) -> None:
        """Re-render the preview from scratch (called after edits settle)."""
        self.cancel()
        self.generation += 1
        self.failure = None
        doc = self.document
        if not doc.can_render():
            self.frames.clear()
            self.total = 0
            self.frames_reset.emit(0)
            self.status.emit("Add two or more images to see the morph")
            return
        settings = self._settings()
        try:
            self.plan = plan_for(settings, len(doc.keyframes))
        except MorphError as exc:  # an impossible setting combination: say so, keep old frames
            self.error.emit(str(exc))
            return
        total = len(self.plan)
        # A fresh morph opens on its midpoint; a re-render keeps the artist's place.
        self.playhead = min(self.playhead, total - 1) if self.total else total // 2
        self.frames.clear()
        self.total = total
        self.frames_reset.emit(total)
        self.drafts.clear()
        self._show_keyframes_now(settings)
        order = nearest_first(total, self.playhead)
        passes = [PreviewPass(settings, order)]
        draft = self._draft_settings()
        if draft is not None:
            passes.insert(0, PreviewPass(draft, order[:DRAFT_FRAMES], draft=True))
        self._job = PreviewJob(self.generation, doc.keyframes, passes, self.model_choice())
        self.status.emit(f"Rendering preview: {total} frames…")
        self.engine.post_preview.emit(self._job)

    def _show_keyframes_now(self, settings: MorphSettings) -> None:
        """The keyframes' own pictures, fitted as the engine fits them, fill their cells at once as
        drafts (the decoded frames replace them): the morph's ends show while the first in-between
        renders, however slow the model. Pictures are kept per file and fit, so edits that re-render
        do not read them again."""
        for index, spec in enumerate(self.plan):
            if spec.keyframe is None:
                continue
            keyframe = self.document.keyframes[spec.keyframe]
            if not isinstance(keyframe, Keyframe):  # prompts and expressions have no picture yet
                continue
            try:
                key = (keyframe.path, keyframe.path.stat().st_mtime_ns, settings.size, settings.fit,
                       settings.background)  # fmt: skip
                if key not in self._pictures:
                    if len(self._pictures) > 32:
                        self._pictures.clear()
                    self._pictures[key] = to_qimage(
                        load_image(keyframe.path, settings.size, settings.fit, settings.background).pixels
                    )
            except (MorphError, OSError):  # the render says what is wrong with it
                continue
            self.frames[index] = self._pictures[key]
            self.drafts.add(index)
            self.frame_updated.emit(index)

    def export_job(self, job: ExportJob) -> None:
        """Exports take the engine: the preview stops, and restarts when the export ends."""
        self.cancel()
        self.engine.post_export.emit(job)

    def _on_frame(self, generation: int, index: int, image: QImage, draft: bool) -> None:
        if generation != self.generation or (draft and index in self.frames):
            return
        self.frames[index] = image
        if draft:
            self.drafts.add(index)
        else:
            self.drafts.discard(index)
        self.frame_updated.emit(index)

    def complete(self) -> bool:
        """Every frame is rendered at full quality."""
        return self.total > 0 and len(self.frames) == self.total and not self.drafts

    def _on_done(self, generation: int, seconds: float) -> None:
        if generation == self.generation:
            self._job = None
            self.status.emit(f"Preview ready: {self.total} frames in {seconds:.1f} s")
            self.finished.emit(seconds)

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self.generation:
            self._job = None
            self.failure = message
            self.error.emit(message)


def nearest_first(total: int, centre: int) -> list[int]:
    """Frame indices ordered by distance from ``centre`` (centre, +1, -1, +2, -2, ...)."""
    order = [centre]
    for step in range(1, total):
        for index in (centre + step, centre - step):
            if 0 <= index < total:
                order.append(index)
    return order[:total]
