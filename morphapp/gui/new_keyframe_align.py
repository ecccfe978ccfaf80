"""Auto-align on drop: find points for newly added keyframes' segments that have none."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.point_origins import AUTO, segment_origins, stored_origins
from morphapp.core.domain.points import SegmentPoints
from morphapp.gui.align_job import AlignRunner

if TYPE_CHECKING:
    from morphapp.gui.main_window import MainWindow


class NewKeyframeAligner(QObject):
    """Runs when Edit ▸ Auto-align New Keyframes is checked; the work is off the GUI thread."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.runner = AlignRunner(self)
        self.runner.finished.connect(self._aligned)

    def remember_setting(self, on: bool) -> None:
        self.window.qsettings.setValue("auto_align_new", on)

    def align_new(self) -> None:
        """With the setting on: find points, off the GUI thread, for segments that have none."""
        keyframes = self.document.keyframes
        if not self.window.auto_align_action.isChecked() or len(keyframes) < 2:
            return
        images = [k for k in keyframes if isinstance(k, Keyframe)]
        if len(images) != len(keyframes):
            return  # points belong to images
        settings = dataclasses.replace(self.document.settings, points=None, segments=None)
        self.window.statusBar().showMessage("Auto-aligning the new keyframes…")
        self.window.align_status.working()
        self.runner.start(images, settings, tag=tuple(keyframes))

    def stop(self) -> None:
        self.runner.stop()

    def _aligned(self, tag: object, found: tuple[SegmentPoints, ...] | None, text: str) -> None:
        align_status = self.window.align_status
        if found is None or tag != tuple(self.document.keyframes):
            if align_status.about is None:
                align_status.clear_result()  # "Aligning…" no more
            return  # cancelled, or the keyframes changed meanwhile (a later drop aligns again)
        settings = self.document.settings
        existing = list(settings.points or ())
        found_points = list(found)
        existing += [()] * (len(found_points) - len(existing))
        merged = [old if old else new for old, new in zip(existing, found_points, strict=False)]
        if any(merged) and merged != existing[: len(merged)]:
            # Only empty segments are filled: their pairs are automatic, the others keep their origins.
            origins = [
                segment_origins(settings.points, settings.point_origins, i) if old else (AUTO,) * len(new)
                for i, (old, new) in enumerate(zip(existing, found_points, strict=False))
            ]
            self.document.set_settings(
                "Auto-align", points=tuple(merged), point_origins=stored_origins(merged, origins)
            )
        # In words on the status bar; the figures in its tooltip (issue 24: no jargon up front).
        lines = text.replace("segment ", "Segment ").splitlines()
        words = [line for line in lines if "auto-align:" not in line and "semantic features:" not in line]
        status_bar = self.window.statusBar()
        status_bar.showMessage("; ".join(words or lines), 10_000)
        status_bar.setToolTip("\n".join(lines))
        align_status.show_result(
            "; ".join(words or lines),
            "\n".join(lines),
            tuple(self.document.keyframes),
            self.document.settings.points,
        )
