"""What the window shows of a project's music: a waveform envelope, the beats and the tempo.

One decode of the track feeds both (``load_mono``); the window runs this off the GUI thread
(beat tracking takes seconds, the first call in a fresh environment half a minute while numba
compiles librosa's kernels). Without librosa the waveform is still drawn and ``beats_error``
says what is missing, so the window can show why there are no beat markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from morphapp.errors import InputError
from morphapp.music.beats import ANALYSIS_RATE, beats_from_onsets, load_mono, onset_strength

PEAKS_PER_SECOND = 210  # envelope resolution: 4.8 ms (a whole number of samples), finer than any frame
assert ANALYSIS_RATE % PEAKS_PER_SECOND == 0


@dataclass(frozen=True)
class MusicAnalysis:
    path: Path
    duration: float  # seconds
    peaks: np.ndarray  # (N,) float32 in [0, 1]: the loudest sample in each 1/PEAKS_PER_SECOND s
    beats: np.ndarray  # beat times in seconds (empty when they could not be found)
    tempo: float  # BPM; 0 without beats
    beats_error: str = ""  # why there are no beats, when that is an error (librosa missing)
    onset_times: np.ndarray = field(default_factory=lambda: np.zeros(0))  # seconds
    onsets: np.ndarray = field(default_factory=lambda: np.zeros(0))  # onset strength (--audio-reactive)

    def peaks_between(self, start: float, end: float, columns: int) -> np.ndarray:
        """The envelope from ``start`` to ``end`` seconds in ``columns`` bins (0 past the track)."""
        if columns <= 0 or end <= start:
            return np.zeros(max(columns, 0), np.float32)
        edges = np.linspace(start, end, columns + 1) * PEAKS_PER_SECOND
        out = np.zeros(columns, np.float32)
        for i in range(columns):
            lo, hi = int(np.floor(edges[i])), max(int(np.ceil(edges[i + 1])), int(np.floor(edges[i])) + 1)
            part = self.peaks[max(lo, 0) : max(hi, 0)]
            out[i] = float(part.max()) if part.size else 0.0
        return out


def analyse_music(path: Path) -> MusicAnalysis:
    """Decode ``path`` once; its envelope, beats and tempo. A file FFmpeg cannot read is an InputError."""
    if not path.is_file():
        raise InputError(f"{path}: music file not found")
    samples = load_mono(path)
    if samples.size == 0:
        raise InputError(f"{path}: no audio in this file")
    hop = ANALYSIS_RATE // PEAKS_PER_SECOND
    usable = samples[: samples.size // hop * hop]
    peaks = np.abs(usable).reshape(-1, hop).max(axis=1) if usable.size else np.zeros(0, np.float32)
    top = float(peaks.max()) if peaks.size else 0.0
    peaks = (peaks / top if top > 0 else peaks).astype(np.float32)
    try:
        times, onsets = onset_strength(samples)
        beats, tempo = beats_from_onsets(onsets)
        error = ""
    except InputError as exc:  # librosa missing: a waveform without beat markers
        times, onsets, beats, tempo, error = np.zeros(0), np.zeros(0), np.zeros(0), 0.0, str(exc)
    duration = samples.size / ANALYSIS_RATE
    tempo = tempo if len(beats) else 0.0
    return MusicAnalysis(path, duration, peaks, beats, tempo, error, onset_times=times, onsets=onsets)
