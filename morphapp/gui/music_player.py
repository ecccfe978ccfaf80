"""The project's music, played in step with the preview (QtMultimedia).

QtMultimedia comes with PySide6-Addons (in the ``music`` extra) and, on Linux, needs PulseAudio's
client library (libpulse0; every desktop has it). Where either is missing the window still
plays the frames, silently, and ``unavailable`` says why, for the music strip to show.

The preview's frame timer is the clock: the player is told where to be when playback starts,
when the artist scrubs and when the morph loops, and is nudged back when it drifts more than
``MAX_DRIFT_MS`` from the frame on screen (an audio clock and a QTimer drift apart slowly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QLoggingCategory, QObject, QUrl

MAX_DRIFT_MS = 80  # two frames at 24 fps: less is inaudible as a lag, more is visible as one

_loaded: tuple[type, type] | str | None = None


def _multimedia() -> tuple[type, type] | str:
    """(QMediaPlayer, QAudioOutput), or why they cannot load. Imported on first use, not at start:
    loading QtMultimedia takes time and logs the media libraries it looks for (pipewire, VA-API)."""
    global _loaded
    if _loaded is None:
        QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver=false")  # optional libraries
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            _loaded = (QMediaPlayer, QAudioOutput)
        except ImportError as exc:  # no PySide6-Addons, or (Linux) no libpulse
            _loaded = (
                f"no audio playback ({exc}): pip install 'morphapp[music]' (PySide6-Addons); on Linux "
                "also PulseAudio's libpulse0"
            )
    return _loaded


class MusicPlayer(QObject):
    """Created empty; QtMultimedia loads with the first track."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.unavailable = ""
        self.player: Any = None  # a QMediaPlayer once a track is set and QtMultimedia loads
        self.path: Path | None = None
        self.start = 0.0  # seconds into the music where frame 0 is

    def _ensure_player(self) -> None:
        if self.player is not None or self.unavailable:
            return
        found = _multimedia()
        if isinstance(found, str):
            self.unavailable = found
            return
        player_class, output_class = found
        self.player = player_class(self)
        self._output = output_class(self)
        self.player.setAudioOutput(self._output)

    def set_music(self, path: Path | None, start: float = 0.0) -> None:
        self.start = start
        if path == self.path:
            return
        self.path = path
        if path is not None:
            self._ensure_player()
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl.fromLocalFile(str(path)) if path is not None else QUrl())

    def position_for(self, frame: int, fps: float) -> int:
        """Milliseconds into the music for ``frame``."""
        return max(0, round((self.start + frame / fps) * 1000))

    def play(self, frame: int, fps: float) -> None:
        if self.player is None or self.path is None:
            return
        self.player.setPosition(self.position_for(frame, fps))
        self.player.play()

    def pause(self) -> None:
        if self.player is not None:
            self.player.pause()

    @property
    def playing(self) -> bool:
        if self.player is None:
            return False
        return self.player.playbackState() == type(self.player).PlaybackState.PlayingState

    def follow(self, frame: int, fps: float, playing: bool) -> None:
        """The preview shows ``frame``: seek when the player is elsewhere (scrubbed, looped, drifted)."""
        if self.player is None or self.path is None:
            return
        wanted = self.position_for(frame, fps)
        if not playing or abs(self.player.position() - wanted) > MAX_DRIFT_MS:
            self.player.setPosition(wanted)
        if playing and not self.playing:  # a track shorter than the morph ended: the loop restarts it
            self.player.play()
