"""Streaming, atomic export of frame sequences: GIF, MP4 (H.264), WebM (VP9), PNG sequence.

    with open_writer(Path("out.mp4"), fps=24, metadata={"prompt": "..."}) as writer:
        for frame in frames:          # HxWx3 uint8 RGB
            writer.write(frame)
    # committed here; on an exception (or Cancelled) nothing is left at out.mp4

This package never imports Qt or the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from morphapp.core.atomic import check_writable_target
from morphapp.export.base import FrameWriter
from morphapp.export.formats import FORMATS, ExportFormat, format_for_path
from morphapp.export.gif import GifWriter
from morphapp.export.png_sequence import PngSequenceWriter, check_folder_target
from morphapp.export.video import VideoWriter

__all__ = ["FORMATS", "ExportFormat", "FrameWriter", "format_for_path", "open_writer"]

# ExportFormat.writer -> the class that writes it.
_WRITERS: dict[str, type[FrameWriter]] = {
    "gif": GifWriter,
    "video": VideoWriter,
    "png-sequence": PngSequenceWriter,
}


def open_writer(
    path: Path | str,
    *,
    fps: float | Fraction,
    format: str | None = None,
    loop: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> FrameWriter:
    """Open a writer for ``path``; the format is ``format`` or chosen from the path.

    The target is checked first, so an unwritable output fails before any rendering.
    Nothing appears at ``path`` until ``commit()``. ``loop`` applies to GIF only (0 =
    forever, N = play N times); ``metadata`` is stored as JSON (GIF comment, video
    'comment' tag, PNG sidecar).
    """
    path = Path(path)
    fmt = format_for_path(path, format)
    if fmt.is_folder:
        check_folder_target(path)
    else:
        check_writable_target(path)
    writer_class = _WRITERS.get(fmt.writer)
    if writer_class is None:
        raise ValueError(f"export preset {fmt.name!r} names unknown writer {fmt.writer!r}")
    return writer_class(path, fmt, fps=fps, loop=loop, metadata=metadata)
