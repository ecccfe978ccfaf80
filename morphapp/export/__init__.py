"""Streaming, atomic export of frame sequences: GIF, MP4 (H.264), WebM (VP9), PNG sequence.

    with open_writer(Path("out.mp4"), fps=24, metadata={"prompt": "..."}) as writer:
        for frame in frames:          # HxWx3 uint8 RGB
            writer.write(frame)
    # committed here; on an exception (or Cancelled) nothing is left at out.mp4

This package never imports Qt or the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from morphapp.core.atomic import check_writable_target
from morphapp.errors import InputError, OutputError
from morphapp.export.audio import AUDIO_CODECS, AudioSource
from morphapp.export.base import FrameWriter
from morphapp.export.formats import FORMATS, ExportFormat, format_for_path
from morphapp.export.gif import GifWriter
from morphapp.export.png_sequence import PngSequenceWriter, check_folder_target
from morphapp.export.video import VideoWriter

__all__ = ["FORMATS", "ExportFormat", "FrameWriter", "check_output", "format_for_path", "open_writer"]

# ExportFormat.writer -> the class that writes it.
_WRITERS: dict[str, type[FrameWriter]] = {
    "gif": GifWriter,
    "video": VideoWriter,
    "png-sequence": PngSequenceWriter,
}


def check_output(path: Path | str, format: str | None = None) -> None:
    """Fail now, before any work, when ``path`` can never receive this export."""
    path = Path(path)
    if format_for_path(path, format).is_folder:
        check_folder_target(path)
    else:
        check_writable_target(path)


def open_writer(
    path: Path | str,
    *,
    fps: float | Fraction,
    format: str | None = None,
    loop: int = 0,
    metadata: Mapping[str, Any] | None = None,
    frame_count: int | None = None,
    resume_key: Mapping[str, Any] | None = None,
    resume: bool = False,
    audio: AudioSource | None = None,
    options: Mapping[str, str] | None = None,
) -> FrameWriter:
    """Open a writer for ``path``; the format is ``format`` or chosen from the path.

    The target is checked first, so an unwritable output fails before any rendering.
    Nothing appears at ``path`` until ``commit()``. ``loop`` applies to GIF only (0 =
    forever, N = play N times); ``metadata`` is stored as JSON (GIF comment, video
    'comment' tag, PNG sidecar).

    ``options`` override the preset's encoder options (a GIF's ``palette`` and ``dither``);
    the writer checks them.

    PNG sequences only: ``frame_count`` and ``resume_key`` (what else decides the pixels:
    model, precision...) fingerprint the export; ``resume=True`` continues an interrupted
    export with the same fingerprint (see ``PngSequenceWriter``). Other formats cannot resume.
    """
    path = Path(path)
    fmt = format_for_path(path, format)
    if options:
        fmt = dataclasses.replace(fmt, options={**fmt.options, **options})
    if fmt.is_folder:
        check_folder_target(path)
    else:
        check_writable_target(path)
    writer_class = _WRITERS.get(fmt.writer)
    if writer_class is None:
        raise ValueError(f"export preset {fmt.name!r} names unknown writer {fmt.writer!r}")
    if writer_class is PngSequenceWriter:
        return PngSequenceWriter(
            path, fmt, fps=fps, loop=loop, metadata=metadata,
            frame_count=frame_count, resume_key=resume_key, resume=resume,
        )  # fmt: skip
    if resume:
        # A video or GIF is one stream; a killed one cannot be continued, only made again.
        raise OutputError(f"{path}: only PNG sequences can be resumed, not {fmt.name}")
    if audio is not None and fmt.container not in AUDIO_CODECS:
        raise InputError(f"--audio: a {fmt.name} file has no audio track; use MP4, WebM or MOV")
    writer = writer_class(path, fmt, fps=fps, loop=loop, metadata=metadata)
    if audio is not None:
        writer.audio = audio  # type: ignore[attr-defined]
    return writer
