"""Export a project to a file: the one loop under the CLI's ``render -o`` and the window's Export.

Writers and their atomic output, resume (PNG sequences), the project's music, the quality report,
cancel and progress: one code path, so that the same saved project exports to the same bytes
from either face (tests/app).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import Keyframe, PromptKeyframe
from morphapp.core.domain.project import Project, export_metadata, project_to_dict, with_hashes
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import ReportCollector
from morphapp.core.notes import NoteFn
from morphapp.core.render.frames import ProgressFn, plan_for
from morphapp.core.render.pipeline import write_frames
from morphapp.export import open_writer
from morphapp.export.audio import AudioSource
from morphapp.export.base import FrameWriter
from morphapp.export.png_sequence import PngSequenceWriter

if TYPE_CHECKING:  # a name only: importing the engine facade (its codecs, backends) is the caller's to do
    from morphapp.engine.base import FrameRenderer

# A GIF above this many bytes per second of animation is too heavy to share as it is (chat apps
# and sites cap uploads at 8-15 MB): the note points to the web preset, about 1 MB a second.
LARGE_GIF_BYTES_PER_SECOND = 2_000_000


@dataclass(frozen=True)
class ExportRequest:
    project: Project
    target: Path
    format: str | None = None  # None: from the target's suffix (a folder: a PNG sequence)
    writer_options: Mapping[str, Any] = field(default_factory=dict)  # a GIF's options/loop (open_writer)
    music: AudioSource | None = None  # see app.music.project_music; the face decides (the CLI's --audio)
    embed_project: bool = False  # the whole project (paths, hashes) in the file: only when asked
    resume: bool = False  # continue an interrupted PNG sequence
    report: bool = False  # measure the morph's quality and put the lines into the metadata


@dataclass(frozen=True)
class ExportResult:
    path: Path
    frames_written: int
    rendered_now: int | None  # after a resume: how many were made now; None: a whole export
    seconds: float
    report: tuple[str, ...] = ()
    report_json: Any = None  # the report as stored in the metadata (a saved project keeps it too)


def export_project(
    request: ExportRequest,
    source: FrameRenderer,  # a loaded engine, or a Ray ClusterRender
    *,
    cancel: CancelToken | None = None,
    progress: ProgressFn | None = None,
    note: NoteFn = lambda _line: None,
) -> ExportResult:
    """Render ``request.project`` with ``source`` into ``request.target``, atomically: nothing
    appears at the target unless every frame was written (``Cancelled`` and errors leave it as it
    was). Encoding overlaps the next frame's decode (``write_frames``)."""
    project, target = request.project, request.target
    settings = project.settings
    plan = plan_for(settings, len(project.keyframes))
    metadata = export_metadata(project, target.resolve().parent, embed_project=request.embed_project)
    resume_key = {**source.resume_key, "project": project_digest(project, target)}
    started = time.perf_counter()
    report: list[str] = []
    with open_writer(
        target, fps=settings.fps, format=request.format, metadata=metadata, frame_count=len(plan),
        resume_key=resume_key, resume=request.resume, audio=request.music, **request.writer_options,
    ) as writer:  # fmt: skip
        indices = writer.pending if request.resume and isinstance(writer, PngSequenceWriter) else None
        if indices is not None:
            kept = len(plan) - len(indices)
            note(f"resuming: {kept} of {len(plan)} frames already done" if kept else "nothing to resume")
        frames = source.frames(project.keyframes, settings, indices=indices, cancel=cancel, progress=progress)
        collector = ReportCollector() if request.report else None
        if collector is not None:
            frames = collector.tap(frames)
        write_frames(frames, writer)
        if collector is not None:  # before the writer closes: the lines go into its metadata
            report = _report(collector, project, settings, writer)
    report_json = json.loads(writer.metadata_json).get("report") if report else None
    if request.format in (None, "gif") and writer.path.suffix.lower() == ".gif":
        _note_large_gif(writer.path, len(plan) / settings.fps, note)
    return ExportResult(
        path=writer.path,
        frames_written=writer.frames_written,
        rendered_now=None if indices is None else len(indices),
        seconds=time.perf_counter() - started,
        report=tuple(report),
        report_json=report_json,
    )


def _note_large_gif(path: Path, seconds: float, note: NoteFn) -> None:
    """A best-colours GIF (what a ``.gif`` name picks) can run to megabytes a second: say so, and
    what makes one sized for the web, rather than choose fewer colours behind the user's back."""
    size = path.stat().st_size
    if seconds > 0 and size / seconds > LARGE_GIF_BYTES_PER_SECOND:
        note(
            f"{path.name}: {size / 1e6:.1f} MB for {seconds:.1f} s, a GIF with the best colours; "
            "--format gif-web makes one sized for the web (about 1 MB a second)"
        )


def project_digest(project: Project, output: Path) -> str:
    """A digest of the whole project (keyframe contents included), for resuming: an export no
    longer embeds the keyframes' hashes, yet frames of other pictures must never be resumed into
    it. It lives only in the unfinished export's state file, never in the finished output."""
    document = project_to_dict(with_hashes(project), output.resolve().parent)
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _report(
    collector: ReportCollector, project: Project, settings: MorphSettings, writer: FrameWriter
) -> list[str]:
    """The quality lines; also put into the output's metadata (the PNG sidecar) as "report"."""
    if collector.overflow:
        return ["report: the morph is too long to report on"]
    if any(isinstance(k, PromptKeyframe) for k in project.keyframes):
        return ["report: needs image keyframes (it compares frames with the input images)"]
    inputs = {
        i: load_image(k.path, settings.size, settings.fit, settings.background).pixels
        for i, k in enumerate(project.keyframes)
        if isinstance(k, Keyframe)
    }
    reports = collector.reports(inputs)
    if not reports:
        return ["report: no segment was rendered whole (a resumed render?)"]
    metadata = json.loads(writer.metadata_json)
    metadata["report"] = [r.as_dict() for r in reports]
    writer.metadata_json = json.dumps(metadata, default=str, ensure_ascii=False)
    return [r.line() for r in reports]
