"""Beats of a music file, and the segment lengths that land each keyframe on one.

Beats come from librosa (onset strength, then its dynamic-programming beat tracker; the optional
extra ``pip install "morphapp[music]"``), on the track decoded to mono 22.05 kHz with PyAV. On
synthetic click tracks at 80-160 BPM every detected beat lies within 30 ms of a click (one frame
at 24 fps is 42 ms; tests/music). The morph starts on the first beat it uses (the music is cut
there too), keyframe k sits on beat k x N, and the frame showing it is the frame nearest that
beat's time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from morphapp.errors import InputError

ANALYSIS_RATE = 22_050


def load_mono(path: Path, rate: int = ANALYSIS_RATE) -> np.ndarray:
    """The whole track as float32 mono samples at ``rate``."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise InputError(f"--audio {path}: not an audio file FFmpeg can read ({exc})") from exc
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _librosa(what: str):  # type: ignore[no-untyped-def]
    try:
        import librosa
    except ImportError as exc:
        raise InputError(f"{what} needs librosa: pip install 'morphapp[music]'") from exc
    return librosa


def onset_strength(samples: np.ndarray, what: str = "beat detection") -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, onset strength): how much new sound starts at each moment (librosa)."""
    librosa = _librosa(what)
    envelope = librosa.onset.onset_strength(y=samples, sr=ANALYSIS_RATE)
    times = librosa.times_like(envelope, sr=ANALYSIS_RATE)
    return np.asarray(times, dtype=np.float64), np.asarray(envelope, dtype=np.float64)


def beats_from_onsets(envelope: np.ndarray) -> tuple[np.ndarray, float]:
    """(beat times in seconds, tempo in BPM) from ``onset_strength``'s envelope."""
    librosa = _librosa("beat detection")
    tempo, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=ANALYSIS_RATE, units="time")
    return np.asarray(beats, dtype=np.float64), float(np.atleast_1d(tempo)[0])


def detect_beats(path: Path) -> tuple[np.ndarray, float]:
    """(beat times in seconds, tempo in BPM)."""
    try:
        _, envelope = onset_strength(load_mono(path))
    except InputError as exc:
        raise InputError(f"{exc} (or give --frames to time the morph yourself)") from exc
    return beats_from_onsets(envelope)


@dataclass(frozen=True)
class BeatTiming:
    start: float  # seconds into the music where the morph (and the cut music) begins
    segment_frames: tuple[int, ...]  # frames of each segment, keyframe to keyframe
    beat_indices: tuple[int, ...]  # the beat each keyframe lands on (0-based, into the detected beats)
    frame_indices: tuple[int, ...]  # the frame that shows each keyframe


def keyframes_on_beats(
    beats: np.ndarray, keyframes: int, fps: float, beats_per_keyframe: int | None = None
) -> BeatTiming:
    """Segment lengths putting keyframe k on beat k x N (N: as given, else spread over all beats)."""
    segments = keyframes - 1
    if segments < 1:
        raise InputError("--audio: give two or more keyframes")
    if len(beats) < 2:
        raise InputError(f"--audio: found {len(beats)} beat(s), too few to time a morph; give --frames")
    per = beats_per_keyframe if beats_per_keyframe is not None else max(1, (len(beats) - 1) // segments)
    if per < 1:
        raise InputError("--beats-per-keyframe must be 1 or more")
    if per * segments > len(beats) - 1:
        raise InputError(
            f"--beats-per-keyframe {per}: the music has {len(beats)} beats, too few for {keyframes} "
            f"keyframes {per} beats apart (at most {(len(beats) - 1) // segments})"
        )
    chosen = [k * per for k in range(keyframes)]
    start = float(beats[chosen[0]])
    frames = [round((float(beats[i]) - start) * fps) for i in chosen]
    steps = tuple(b - a for a, b in itertools.pairwise(frames))
    if min(steps) < 1:
        raise InputError("--audio: beats closer together than one frame; raise --fps or --beats-per-keyframe")
    return BeatTiming(start, steps, tuple(chosen), tuple(frames))


REACTIVE_MARGIN = 0.25  # of the mean loudness, added everywhere: quiet passages still move
_SAMPLES_PER_STEP = 8  # envelope samples averaged over each frame-to-frame step


def onset_envelope(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, onset strength) of the track at ``path``."""
    return onset_strength(load_mono(path), "--audio-reactive")


def reactive_positions(
    times: np.ndarray, strength: np.ndarray, start: float, fps: float, segment_frames: tuple[int, ...]
) -> list[list[float]]:
    """Per segment, the t of each of its frames (0 first) and 1 last, spaced so that each frame step
    is proportional to the music's onset strength during it (plus ``REACTIVE_MARGIN`` of the mean):
    the morph moves faster on loud, busy passages. Keyframes stay on their frames."""
    floor = REACTIVE_MARGIN * max(float(strength.mean()), 1e-9) if strength.size else 1.0
    out: list[list[float]] = []
    first = 0
    for steps in segment_frames:
        # Each step k runs from frame first + k to first + k + 1, seconds into the music from `start`.
        edges = start + (first + np.arange(steps + 1)) / fps
        inner = np.linspace(0.0, 1.0, _SAMPLES_PER_STEP, endpoint=False) + 0.5 / _SAMPLES_PER_STEP
        at = edges[:-1, None] + inner[None, :] / fps
        loud = np.interp(at, times, strength).mean(axis=1) if strength.size else np.zeros(steps)
        weights = loud + floor
        cumulative = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
        cumulative[-1] = 1.0
        out.append([float(v) for v in cumulative])
        first += steps
    return out
