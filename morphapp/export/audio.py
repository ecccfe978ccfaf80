"""A music track for a video export: read with PyAV (WAV, MP3, FLAC, OGG, M4A ...), re-encoded
into the video's container alongside the frames, and cut where the video ends.

``AudioSource.open`` checks the file up front (an unreadable or silent file is one clear error
before any rendering). ``AudioMuxer`` is driven by the video writer: after each frame it encodes
the audio up to that frame's end time, so audio and video packets interleave as they are made
and nothing piles up in memory; ``finish`` encodes the rest up to the video's length (trimming
the last audio frame) and flushes the encoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from morphapp.errors import InputError, OutputError

# The audio codec each container gets: AAC in MP4, Opus in WebM, 16-bit PCM in a ProRes .mov
# (what editors expect beside an intermediate codec).
AUDIO_CODECS = {"mp4": "aac", "webm": "libopus", "mov": "pcm_s16le"}
SAMPLE_RATES = {"aac": 48_000, "libopus": 48_000, "pcm_s16le": 48_000}


@dataclass(frozen=True)
class AudioSource:
    path: Path
    duration: float  # seconds
    sample_rate: int
    channels: int
    start: float = 0.0  # seconds of the track skipped: the video begins there (a first beat)

    @classmethod
    def open(cls, path: Path | str) -> AudioSource:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"--audio {path}: file not found")
        try:
            with av.open(str(path)) as container:
                if not container.streams.audio:
                    raise InputError(f"--audio {path}: has no audio track")
                stream = container.streams.audio[0]
                duration = _duration(container, stream)
                rate, channels = int(stream.codec_context.sample_rate), int(stream.codec_context.channels)
        except av.FFmpegError as exc:
            raise InputError(f"--audio {path}: not an audio file FFmpeg can read ({exc})") from exc
        if not duration or duration <= 0:
            raise InputError(f"--audio {path}: the track has no length")
        return cls(path, duration, rate, max(1, min(channels, 2)))


def _duration(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


class AudioMuxer:
    """Encodes ``source`` into ``output`` (an open PyAV container), cut at the video's end."""

    def __init__(
        self, output: av.container.OutputContainer, container_format: str, source: AudioSource
    ) -> None:
        codec = AUDIO_CODECS.get(container_format)
        if codec is None:
            raise InputError(f"--audio: a {container_format} file has no audio track; use MP4, WebM or MOV")
        self.rate = SAMPLE_RATES[codec]
        layout = "stereo" if source.channels == 2 else "mono"
        stream = output.add_stream(codec, rate=self.rate, layout=layout)
        if not isinstance(stream, av.AudioStream):  # the codecs of AUDIO_CODECS are all audio encoders
            raise OutputError(f"--audio: {codec} is not an audio encoder")
        self._stream = stream
        self._output = output
        self._format = self._stream.codec_context.format.name
        self._layout = layout
        self._frames = self._resampled(source)
        self._pending: av.AudioFrame | None = None
        self.samples_written = 0

    def _resampled(self, source: AudioSource) -> Iterator[av.AudioFrame]:
        """The source as frames of the encoder's sample format, rate, layout and frame size."""
        frame_size = self._stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(
            format=self._format, layout=self._layout, rate=self.rate, frame_size=frame_size
        )
        skip = int(source.start * self.rate)

        def skipped(frames: list[av.AudioFrame]) -> Iterator[av.AudioFrame]:
            nonlocal skip
            for frame in frames:
                if skip >= frame.samples:
                    skip -= frame.samples
                    continue
                if skip:
                    frame = _slice(frame, skip, frame.samples, self._format, self._layout, self.rate)
                    skip = 0
                yield frame

        with av.open(str(source.path)) as container:
            for frame in container.decode(audio=0):
                frame.pts = None
                yield from skipped(resampler.resample(frame))
        yield from skipped(resampler.resample(None))

    def pump(self, until: Fraction | float) -> None:
        """Encode the audio frames that end by ``until`` seconds (the end of the last video frame
        written), so that the track never runs past a video that may stop there."""
        target = int(float(until) * self.rate)
        while True:
            frame = self._peek()
            if frame is None or self.samples_written + frame.samples > target:
                return
            self._take_and_mux(frame)

    def finish(self, duration: Fraction | float) -> None:
        """Encode up to the video's length, the last frame cut to it, then flush the encoder."""
        target = int(float(duration) * self.rate)
        while self.samples_written < target:
            frame = self._peek()
            if frame is None:
                break  # the music is shorter than the video: the rest is silence
            remaining = target - self.samples_written
            if frame.samples > remaining:
                self._pending = frame = _cut(frame, remaining, self._format, self._layout, self.rate)
            self._take_and_mux(frame)
        for packet in self._stream.encode(None):
            self._output.mux(packet)

    def _peek(self) -> av.AudioFrame | None:
        if self._pending is None:
            self._pending = next(self._frames, None)
        return self._pending

    def _take_and_mux(self, frame: av.AudioFrame) -> None:
        self._pending = None
        frame.pts = self.samples_written
        frame.time_base = Fraction(1, self.rate)
        self.samples_written += frame.samples
        self._mux(frame)

    def _mux(self, frame: av.AudioFrame) -> None:
        for packet in self._stream.encode(frame):
            self._output.mux(packet)


def _cut(frame: av.AudioFrame, samples: int, fmt: str, layout: str, rate: int) -> av.AudioFrame:
    """The first ``samples`` of ``frame``."""
    return _slice(frame, 0, samples, fmt, layout, rate)


def _slice(frame: av.AudioFrame, begin: int, end: int, fmt: str, layout: str, rate: int) -> av.AudioFrame:
    """Samples ``begin`` .. ``end`` of ``frame`` (planar or packed)."""
    data = frame.to_ndarray()
    if not frame.format.is_planar:  # packed: channels interleaved along the one row
        channels = len(frame.layout.channels)
        begin, end = begin * channels, end * channels
    # .copy(): C-contiguous, as from_ndarray needs, and it keeps the sample dtype in the types
    out = av.AudioFrame.from_ndarray(data[:, begin:end].copy(), format=fmt, layout=layout)
    out.sample_rate = rate
    return out
