"""The engine thread: loads the model once and runs preview renders and exports off the GUI thread.

All model work happens on this one thread (two CPU cores gain nothing from running two
renders at once). The GUI posts jobs with queued signals and cancels the running one with its
CancelToken; results come back as signals tagged with the job's generation number, so frames
of a superseded preview are simply ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from morphapp.core.cancel import CancelToken
from morphapp.core.device import describe_device, resolve_device, resolve_dtype
from morphapp.core.keyframes import Keyframe
from morphapp.core.latent_cache import LatentCache
from morphapp.core.project import Project, project_to_dict, with_hashes
from morphapp.core.render import Progress, encode_keyframes, render_frames
from morphapp.core.settings import MorphSettings
from morphapp.errors import Cancelled, ModelError, MorphError
from morphapp.export import open_writer
from morphapp.models.discovery import find_model
from morphapp.models.tae_codec import TaeCodec


@dataclass(frozen=True)
class ModelChoice:
    model: str | None
    device: str = "auto"
    dtype: str = "auto"


@dataclass(frozen=True)
class PreviewPass:
    settings: MorphSettings
    order: list[int]  # frame indices, most wanted first
    draft: bool = False  # a quick low-resolution pass, replaced by the full one


@dataclass
class PreviewJob:
    generation: int
    keyframes: tuple[Keyframe, ...]
    passes: list[PreviewPass]
    choice: ModelChoice
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass
class EncodeJob:
    keyframes: tuple[Keyframe, ...]
    sizes: list[MorphSettings]  # encode for each of these (draft size first)
    choice: ModelChoice
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass
class ExportJob:
    project: Project
    target: Path
    format: str
    fps: float
    choice: ModelChoice
    cancel: CancelToken = field(default_factory=CancelToken)


def to_qimage(pixels: np.ndarray) -> QImage:
    height, width, _ = pixels.shape
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the memory: the numpy buffer is not ours to keep


class EngineWorker(QObject):
    model_ready = Signal(str)  # "taef2 on cpu, float32"
    frame_ready = Signal(int, int, QImage, bool)  # generation, frame index, image, is draft
    preview_done = Signal(int, float)  # generation, seconds
    preview_failed = Signal(int, str)
    model_missing = Signal(int, str)  # generation, where models are looked for
    export_progress = Signal(int, int)  # done, total
    export_done = Signal(str)  # path written
    export_failed = Signal(str)
    export_cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cache = LatentCache()
        self._codec: TaeCodec | None = None
        self._choice: ModelChoice | None = None

    def codec_for(self, choice: ModelChoice) -> TaeCodec:
        if self._codec is None or choice != self._choice:
            device = resolve_device(choice.device)
            self._codec = TaeCodec(find_model(choice.model), device, resolve_dtype(choice.dtype, device))
            self._choice = choice
            codec = self._codec
            self.model_ready.emit(f"{codec.name} on {describe_device(device)}, {str(codec.dtype)[6:]}")
        return self._codec

    @Slot(object)
    def encode(self, job: EncodeJob) -> None:
        """Encode keyframes ahead of time, so the first preview frame only pays for a decode."""
        try:
            codec = self.codec_for(job.choice)
            for settings in job.sizes:
                encode_keyframes(job.keyframes, codec, settings, cache=self.cache, cancel=job.cancel)
        except (Cancelled, MorphError):
            pass  # the preview job that follows reports errors

    @Slot(object)
    def preview(self, job: PreviewJob) -> None:
        started = time.perf_counter()
        try:
            if job.cancel.cancelled:
                return
            try:
                codec = self.codec_for(job.choice)
            except ModelError as exc:
                if job.choice.model is None:  # nothing installed at all: the first-run offer
                    self.model_missing.emit(job.generation, str(exc))
                    return
                raise
            for p in job.passes:
                frames = render_frames(
                    job.keyframes,
                    codec,
                    p.settings,
                    frame_indices=p.order,
                    cache=self.cache,
                    cancel=job.cancel,
                )
                for frame in frames:
                    self.frame_ready.emit(job.generation, frame.index, to_qimage(frame.pixels), p.draft)
        except Cancelled:
            return
        except MorphError as exc:
            self.preview_failed.emit(job.generation, str(exc))
            return
        except Exception as exc:  # a bug: show it rather than dying silently on a thread
            self.preview_failed.emit(job.generation, f"internal error: {type(exc).__name__}: {exc}")
            return
        self.preview_done.emit(job.generation, time.perf_counter() - started)

    @Slot(object)
    def export(self, job: ExportJob) -> None:
        project = job.project
        try:
            metadata = project_to_dict(with_hashes(project), job.target.resolve().parent)
            with open_writer(job.target, fps=job.fps, format=job.format, metadata=metadata) as writer:
                codec = self.codec_for(job.choice)

                def progress(p: Progress) -> None:
                    if p.stage == "decode":
                        self.export_progress.emit(p.done, p.total)

                for frame in render_frames(
                    project.keyframes,
                    codec,
                    project.settings,
                    cache=self.cache,
                    cancel=job.cancel,
                    progress=progress,
                ):
                    writer.write(frame.pixels)
            self.export_done.emit(str(writer.path))
        except Cancelled:
            self.export_cancelled.emit()
        except MorphError as exc:
            self.export_failed.emit(str(exc))
        except Exception as exc:
            self.export_failed.emit(f"internal error: {type(exc).__name__}: {exc}")
