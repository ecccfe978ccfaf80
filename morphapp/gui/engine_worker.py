"""The engine thread: loads the model once and runs preview renders and exports off the GUI thread.

All model work happens on this one thread (two CPU cores gain nothing from running two
renders at once). The GUI posts jobs with queued signals and cancels the running one with its
CancelToken; results come back as signals tagged with the job's generation number, so frames
of a superseded preview are simply ignored.

Backend and precision (``--backend/--precision auto`` in the CLI) come from the calibrated
verdict when one is cached. Without one, the first preview does not wait for a calibration: it
renders with torch (fp32 on a CPU) at once, and the calibration runs on this thread once that
preview is done; later renders use what it picked. Any new job interrupts a calibration between
candidates (it is tried again after the next preview).

A Stable-Diffusion-class model (``ModelInfo.is_diffusion``) renders through
``morphapp.diffusion`` instead: loaded once per choice, inversions cached for the session, one
``step_ready`` per denoising step (with a TAE preview image when a TAE of the same latent space
is installed), cancel between steps. No draft pass: a half-size diffusion frame costs nearly as
much and looks different.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from morphapp.app.checks import check_points_fit_model
from morphapp.app.export_project import ExportRequest, export_project
from morphapp.app.music import project_music
from morphapp.app.project_model import with_model_recorded
from morphapp.core.cancel import CancelToken
from morphapp.core.domain.choices import DTYPE_TO_PRECISION
from morphapp.core.domain.keyframes import AnyKeyframe
from morphapp.core.domain.project import Project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.codec import LatentCodec
from morphapp.core.render.device import describe_device, resolve_device, resolve_dtype
from morphapp.core.render.frames import Frame, Progress, ProgressFn
from morphapp.core.render.latent_cache import LatentCache
from morphapp.engine import AutoencoderEngine, EngineOptions, MorphEngine, open_engine
from morphapp.errors import Cancelled, ModelError, MorphError
from morphapp.models import backend
from morphapp.models.backend import Choice
from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    model: str | None
    device: str = "auto"
    dtype: str = "auto"  # "auto": the calibrated backend and precision; else torch in that dtype


@dataclass
class _Pending:
    """A calibration still to run for the codec in use (no verdict was cached)."""

    info: ModelInfo
    device: torch.device
    choice: ModelChoice


@dataclass(frozen=True)
class PreviewPass:
    settings: MorphSettings
    order: list[int]  # frame indices, most wanted first
    draft: bool = False  # a quick low-resolution pass, replaced by the full one


@dataclass
class PreviewJob:
    generation: int
    keyframes: tuple[AnyKeyframe, ...]
    passes: list[PreviewPass]
    choice: ModelChoice
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass
class EncodeJob:
    keyframes: tuple[AnyKeyframe, ...]
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
    options: dict[str, str] = field(default_factory=dict)  # the writer's (a GIF's palette, dither)
    cancel: CancelToken = field(default_factory=CancelToken)
    cluster: str | None = None  # render on Ray: "local:N" or a cluster's "HOST:PORT" (preferences)
    embed_project: bool = False  # the whole project (paths, hashes) in the file: only when asked


def to_qimage(pixels: np.ndarray) -> QImage:
    height, width, _ = pixels.shape
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the memory: the numpy buffer is not ours to keep


def backend_options(choice: ModelChoice, device: torch.device) -> tuple[str, str]:
    """(backend, precision) constraints for ``backend.choose``: a set dtype pins torch."""
    if choice.dtype == "auto":
        return "auto", "auto"
    return "torch", DTYPE_TO_PRECISION[str(resolve_dtype(choice.dtype, device)).removeprefix("torch.")]


class EngineWorker(QObject):
    model_ready = Signal(str)  # "taef2 on cpu, torch bf16 (auto, calibration cached)"
    backend_picked = Signal(str)  # Choice.describe(): what runs, and the calibration's figures
    export_note = Signal(str)  # a line about an export in progress (e.g. "running on Ray …")
    frame_ready = Signal(int, int, QImage, bool)  # generation, frame index, image, is draft
    preview_done = Signal(int, float)  # generation, seconds
    preview_failed = Signal(int, str)
    model_missing = Signal(int, str)  # generation, where models are looked for
    export_progress = Signal(int, int)  # done, total
    export_done = Signal(str)  # path written
    export_failed = Signal(str)
    export_cancelled = Signal()
    # generation (-1: an export), "keyframe 1" / "t=0.500", step, steps, preview QImage or None
    step_ready = Signal(int, str, int, int, object)

    def __init__(self) -> None:
        super().__init__()
        self.cache = LatentCache()
        self._infos: dict[ModelChoice, ModelInfo] = {}
        self._diffusion: tuple[ModelChoice, MorphEngine] | None = None  # loaded once per choice
        self._codec: LatentCodec | None = None
        self._choice: ModelChoice | None = None
        self.backend_choice: Choice | None = None  # how the codec in use runs
        self._pending: _Pending | None = None
        # Jobs posted (counted on the posting thread) and taken up (on this one): while they
        # differ a job is waiting, and a calibration yields to it.
        self._posted = 0
        self._taken = 0
        self._interrupt = _JobWaiting(self)

    def job_posted(self, *_job: object) -> None:
        """Call on the posting thread, before a job's queued signal: a calibration yields to it."""
        self._posted += 1

    def _take(self) -> None:
        self._taken += 1

    def job_waiting(self) -> bool:
        return self._posted > self._taken

    def info_for(self, choice: ModelChoice) -> ModelInfo:
        info = self._infos.get(choice)
        if info is None:
            info = self._infos[choice] = find_model(choice.model)
        return info

    def frames(
        self,
        choice: ModelChoice,
        keyframes: Sequence[AnyKeyframe],
        settings: MorphSettings,
        *,
        order: Sequence[int] | None = None,
        cancel: CancelToken | None = None,
        progress: ProgressFn | None = None,
        generation: int = -1,
        step_previews: bool = True,
    ) -> Iterator[Frame]:
        """The frames of a morph with the chosen model, autoencoder or diffusion. ``step_previews``:
        report each denoising step (with a TAE picture) for the window; exports do without."""
        check_points_fit_model(settings, self.info_for(choice))
        engine = self.engine_for(choice)

        def on_step(step: Any) -> None:
            image = None if step.preview is None else to_qimage(step.preview)
            self.step_ready.emit(generation, step.label, step.step, step.total, image)

        return engine.frames(
            keyframes, settings, indices=order, cancel=cancel, progress=progress,
            on_step=on_step if step_previews else None,
        )  # fmt: skip

    def engine_for(self, choice: ModelChoice) -> MorphEngine:
        """The engine of ``choice``: loaded once (a diffusion model), or around the codec in use
        (which a calibration may swap for a faster one between jobs)."""
        info = self.info_for(choice)
        if info.is_diffusion:
            return self.diffusion_for(choice, info)
        codec = self.codec_for(choice)
        backend_name = self.backend_choice.backend if self.backend_choice is not None else "torch"
        return AutoencoderEngine(codec, backend=backend_name, cache=self.cache)

    def is_diffusion(self, choice: ModelChoice) -> bool:
        try:
            return self.info_for(choice).is_diffusion
        except MorphError:
            return False

    def diffusion_for(self, choice: ModelChoice, info: ModelInfo) -> MorphEngine:
        """The diffusion engine of ``choice``, loaded once; it keeps its keyframe states across jobs,
        so a timing, easing or pacing edit re-renders without re-denoising keyframes."""
        if self._diffusion is None or self._diffusion[0] != choice:
            self._diffusion = None  # free the old one's memory before loading
            device = resolve_device(choice.device)
            dtype = None if choice.dtype == "auto" else resolve_dtype(choice.dtype, device)
            options = EngineOptions(dtype=dtype, step_previews=True)
            engine = open_engine(info, device, options, note=_log.info)
            self._diffusion = (choice, engine)
            self.backend_choice = None
            self.model_ready.emit(engine.describe())
        return self._diffusion[1]

    def codec_for(self, choice: ModelChoice) -> LatentCodec:
        if self._codec is None or choice != self._choice:
            self._codec = None
            self._pending = None
            info = find_model(choice.model)
            device = resolve_device(choice.device)
            wanted = backend_options(choice, device)
            # The codec every choice starts from: it hashes the weights (the cache key) and it is
            # what runs until a calibration has picked something else.
            start = TaeCodec(info, device, resolve_dtype(choice.dtype, device))
            picked = backend.cached_choice(info, device, *wanted, model_id=start.model_id)
            if picked is None:
                picked = Choice("torch", _precision(start.dtype), "pending")
                self._pending = _Pending(info, device, choice)
            self._use(start, picked, info, device)
            self._choice = choice
        assert self._codec is not None
        return self._codec

    def _use(self, start: LatentCodec, picked: Choice, info: ModelInfo, device: torch.device) -> None:
        if isinstance(start, TaeCodec) and (picked.backend, picked.dtype) == ("torch", start.dtype):
            self._codec = start
        else:
            self._codec = backend.open_codec(info, device, picked)
        self.backend_choice = picked
        self.model_ready.emit(self.describe())
        if picked.measured:  # a calibrated verdict, just now or cached: its figures
            self.backend_picked.emit(picked.describe())

    def describe(self) -> str:
        """The status bar's line: model, device, backend and precision, and how they were chosen."""
        codec, picked = self._codec, self.backend_choice
        if codec is None or picked is None:
            return "not loaded"
        how = {
            "asked": "",
            "cached": " (auto, calibration cached)",
            "calibrated": " (auto, calibrated now)",
            "pending": " (auto: calibrating after the first preview)",
            "calibrating": " (auto: calibrating…)",
        }[picked.how]
        return f"{codec.name} on {describe_device(codec.device)}, {picked.label}{how}"

    def calibrate_pending(self) -> None:
        """Run the calibration the first preview skipped, then switch codec if it picked another.

        Runs on this thread between jobs, so its timings do not compete with a render; a job
        posted meanwhile interrupts it and it is tried again after the next preview.
        """
        pending = self._pending
        if pending is None or self._codec is None or self.backend_choice is None:
            return
        if self.job_waiting():
            return  # the next job first; the preview after it tries again
        current = self.backend_choice
        self.backend_choice = Choice(current.backend, current.precision, "calibrating")
        self.model_ready.emit(self.describe())
        try:
            picked = backend.choose(
                pending.info, pending.device, *backend_options(pending.choice, pending.device),
                cancel=self._interrupt,
            )  # fmt: skip
        except Cancelled:
            self.backend_choice = current
            self.model_ready.emit(self.describe())
            return
        except Exception as exc:  # keep the codec that works; say why once
            _log.warning("backend calibration failed: %s", exc)
            self._pending = None
            self.backend_choice = Choice(current.backend, current.precision, "asked")
            self.model_ready.emit(self.describe())
            return
        self._pending = None
        try:
            self._use(self._codec, picked, pending.info, pending.device)
        except MorphError as exc:  # e.g. the ONNX export failed: keep the codec that works
            _log.warning("cannot switch to %s: %s", picked.label, exc)
            self.backend_choice = Choice(current.backend, current.precision, "asked")
            self.model_ready.emit(self.describe())

    @Slot(object)
    def encode(self, job: EncodeJob) -> None:
        """Encode keyframes ahead of time, so the first preview frame only pays for a decode."""
        self._take()
        try:
            if self.is_diffusion(job.choice):
                return  # keyframes are inverted by the preview job itself (and cached)
            engine = self.engine_for(job.choice)
            for settings in job.sizes:
                engine.prepare(job.keyframes, settings, cancel=job.cancel)
        except (Cancelled, MorphError):
            pass  # the preview job that follows reports errors

    @Slot(object)
    def preview(self, job: PreviewJob) -> None:
        self._take()
        started = time.perf_counter()
        try:
            if job.cancel.cancelled:
                return
            try:
                diffusion = self.info_for(job.choice).is_diffusion
                if not diffusion:
                    self.codec_for(job.choice)
            except ModelError as exc:
                if job.choice.model is None:  # nothing installed at all: the first-run offer
                    self.model_missing.emit(job.generation, str(exc))
                    return
                raise
            for p in job.passes:
                if diffusion and p.draft:
                    continue
                frames = self.frames(
                    job.choice, job.keyframes, p.settings, order=p.order, cancel=job.cancel,
                    generation=job.generation,
                )  # fmt: skip
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
        self.calibrate_pending()  # the preview is on screen: now there is time to measure

    @Slot(object)
    def export(self, job: ExportJob) -> None:
        """The export loop the CLI runs too (``app.export_project``), with this window's loaded
        engine (or Ray workers), so a saved project exports to the same bytes from either face."""
        self._take()
        project = job.project
        if project.settings.fps != job.fps:
            project = dataclasses.replace(
                project, settings=dataclasses.replace(project.settings, fps=job.fps)
            )
        try:
            check_points_fit_model(project.settings, self.info_for(job.choice))
            project = with_model_recorded(project, self.info_for(job.choice))  # as the CLI records it
            request = ExportRequest(
                project, job.target, format=job.format, writer_options={"options": job.options},
                music=project_music(project, job.target, job.format, self.export_note.emit),
                embed_project=job.embed_project,
            )  # fmt: skip

            def progress(p: Progress) -> None:
                if p.stage == "decode":
                    self.export_progress.emit(p.done, p.total)

            distributed = self._cluster_for(job) if job.cluster else contextlib.nullcontext(None)
            with distributed as cluster:
                # no step previews in an export: nobody watches them, and each costs a TAE decode
                source = cluster if cluster is not None else self.engine_for(job.choice)
                result = export_project(request, source, cancel=job.cancel, progress=progress)
            self.export_done.emit(str(result.path))
        except Cancelled:
            self.export_cancelled.emit()
        except MorphError as exc:
            self.export_failed.emit(str(exc))
        except Exception as exc:
            self.export_failed.emit(f"internal error: {type(exc).__name__}: {exc}")

    def _cluster_for(self, job: ExportJob) -> Any:
        """A Ray render of ``job``'s model with the window's own backend and precision, so the
        workers make the frames the preview shows (CPU workers: the very bytes)."""
        from morphapp.cluster.options import parse_cluster
        from morphapp.cluster.ray_runner import ClusterRender

        cluster = parse_cluster(job.cluster or "")
        info = self.info_for(job.choice)
        choice = job.choice
        if info.is_diffusion:
            dtype = (
                None if choice.dtype == "auto" else resolve_dtype(choice.dtype, resolve_device(choice.device))
            )
            options = EngineOptions(dtype=dtype)
        else:
            picked = self.backend_choice
            backend_name, precision = (
                (picked.backend, picked.precision) if picked is not None
                else backend_options(choice, resolve_device(choice.device))
            )  # fmt: skip
            options = EngineOptions(backend_name, precision)
        return ClusterRender(info, options, cluster, device=choice.device, note=self.export_note.emit)


class _JobWaiting(CancelToken):
    """A token that reads as cancelled while a job is waiting for the engine thread."""

    def __init__(self, worker: EngineWorker) -> None:
        super().__init__()
        self._worker = worker

    @property
    def cancelled(self) -> bool:
        return self._worker.job_waiting()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("a job is waiting")


def _precision(dtype: torch.dtype) -> str:
    return {v: k for k, v in backend.PRECISION_DTYPES.items()}[dtype]
