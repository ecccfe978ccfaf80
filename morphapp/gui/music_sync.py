"""Keeps the project's music, the music strip, the player and the preview in step.

The document holds the music (path, hash, start); this object reacts to its changes (analyse a
new track, move the strip's marks after a timing edit), to the preview (the playhead, play and
pause) and to the strip (seek, snap keyframes to beats, remove).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from morphapp.core.domain.project import ProjectAudio
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.errors import MorphError
from morphapp.export.audio import AudioSource
from morphapp.gui.document import Document
from morphapp.gui.music_player import MusicPlayer
from morphapp.gui.music_strip import AUDIO_FILTER, MusicAnalyser, MusicPanel
from morphapp.gui.preview_controller import PreviewController
from morphapp.gui.preview_view import PreviewPanel
from morphapp.music.analysis import MusicAnalysis


class MusicSync(QObject):
    def __init__(
        self,
        document: Document,
        preview: PreviewController,
        preview_panel: PreviewPanel,
        panel: MusicPanel,
        *,
        show_error: Callable[[str], None],
        show_status: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document, self.preview, self.preview_panel, self.panel = document, preview, preview_panel, panel
        self.show_error, self.show_status = show_error, show_status
        self._track: tuple[Path, str | None] | None = None  # the music the strip shows
        self.player = MusicPlayer(self)
        self.analyser = MusicAnalyser(self)
        self.analyser.finished.connect(self._analysed)
        document.changed.connect(self.refresh)
        preview.frames_reset.connect(lambda _total: self.refresh())
        preview_panel.slider.valueChanged.connect(self._playhead_moved)
        preview_panel.playing_changed.connect(self._playing_changed)
        panel.strip.seek_requested.connect(preview_panel.slider.setValue)
        panel.snap_requested.connect(self.snap)
        panel.reactive_requested.connect(self.reactive)
        panel.remove_requested.connect(lambda: document.set_audio(None))
        self.refresh()

    # -- actions -------------------------------------------------------------------------------
    def add_music_dialog(self, parent: QWidget) -> None:
        path, _ = QFileDialog.getOpenFileName(parent, "Add music", str(Path.home()), AUDIO_FILTER)
        if path:
            self.add_music(Path(path))

    def add_music(self, path: Path) -> bool:
        """Music for the morph: checked to be audio FFmpeg reads before the project takes it."""
        try:
            AudioSource.open(path)
        except MorphError as exc:
            self.show_error(str(exc).removeprefix("--audio "))
            return False
        self.document.set_audio(ProjectAudio(path, file_sha256(path), 0.0))
        return True

    def snap(self, beats_per_keyframe: int | None) -> None:
        analysis = self.panel.strip.analysis
        if analysis is None:
            return
        try:
            line = self.document.snap_to_beats(analysis.beats, beats_per_keyframe)
        except MorphError as exc:
            self.show_error(str(exc))
            return
        self.show_status(line)

    def reactive(self) -> None:
        analysis = self.panel.strip.analysis
        if analysis is None:
            return
        try:
            line = self.document.music_reactive(analysis.onset_times, analysis.onsets)
        except MorphError as exc:
            self.show_error(str(exc))
            return
        self.show_status(line)

    # -- following -----------------------------------------------------------------------------
    def refresh(self) -> None:
        audio = self.document.audio
        path = audio.path if audio is not None else None
        track = None if audio is None else (audio.path, audio.sha256)
        if track != self._track:  # another file, or the same one changed and added again
            self._track = track
            self.panel.show_music(path, fresh=True)
            if path is not None:
                self.analyser.start(path)
        settings = self.document.settings
        start = audio.start if audio is not None else 0.0
        self.player.set_music(path, start)
        if self.player.unavailable and not self.panel.playback_note:
            self.panel.playback_note = "no audio playback (see tooltip)"
            self.panel.info.setToolTip(self.player.unavailable)
        plan = self.preview.plan if self.preview.total else []
        marks: list[int] = []
        for spec in plan:  # the first frame of each keyframe (holds and loops show some again)
            if spec.keyframe is not None and (not marks or plan[marks[-1]].keyframe != spec.keyframe):
                marks.append(spec.index)
        self.panel.strip.set_timing(start, float(settings.fps), self.preview.total, marks)
        self.panel.strip.set_playhead(self.preview_panel.current)

    def analysing(self) -> bool:
        """Whether the project's music is still being analysed (the strip says "analysing…")."""
        path = self.panel.path
        return path is not None and self.analyser.result(path) is None

    def _analysed(self, path: Path, result: MusicAnalysis | str) -> None:
        self.panel.show_analysis(path, result)

    def _playhead_moved(self, frame: int) -> None:
        self.panel.strip.set_playhead(frame)
        playing = self.preview_panel.timer.isActive()
        self.player.follow(frame, float(self.document.settings.fps), playing)

    def _playing_changed(self, playing: bool) -> None:
        if playing:
            self.player.play(self.preview_panel.current, float(self.document.settings.fps))
        else:
            self.player.pause()

    def stop(self) -> None:
        self.player.pause()
        self.analyser.stop()
