"""Everything that decides what a morph looks like, apart from the keyframes and the model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from morphapp.core.domain.choices import DEFAULT_WARP_MODE, PATH_CHOICES, WARP_MODES
from morphapp.core.domain.diffusion_settings import PACING_CHOICES, DiffusionSettings
from morphapp.core.domain.point_origins import SegmentOrigins
from morphapp.core.domain.points import SegmentPoints
from morphapp.core.imaging.fit import FIT_MODES, FitMode
from morphapp.core.imaging.load import MAX_SIDE
from morphapp.core.timeline.easing import parse_ease
from morphapp.core.timeline.plan import (
    LOOP_CHOICES,
    MAX_FRAMES,
    SegmentSpec,
    distribute_frames,
    segment_pairs,
)
from morphapp.errors import InputError

FIT_CHOICES: tuple[str, ...] = FIT_MODES


def parse_fit(text: str) -> FitMode:
    """A fit mode from text (a project file, a flag), or a clear error naming the choices."""
    for mode in FIT_MODES:
        if text == mode:
            return mode
    raise InputError(f"--fit {text}: choose one of {', '.join(FIT_MODES)}")


DEFAULT_SEGMENT_FRAMES = 24  # one second per segment at the default 24 fps (projects without timing)
# A new morph, on the command line and in the window (a saved project keeps its own timing): two
# seconds per segment at 24 fps, resting a quarter second on each keyframe, evenly paced. A one-
# second morph without rests read as a flash, not a transformation (issue 24).
NEW_MORPH_SEGMENT_FRAMES = 48
NEW_MORPH_HOLD = 6
NEW_MORPH_PACING = "even"


def new_morph_timing(diffusion: bool) -> tuple[int, int]:
    """A new morph's frames per segment and rest frames on each keyframe, by the kind of model (the
    CLI and the window alike): an autoencoder morph two seconds a segment with rests; a diffusion
    morph, each frame of which costs seconds of denoising, one second and none."""
    return (DEFAULT_SEGMENT_FRAMES, 0) if diffusion else (NEW_MORPH_SEGMENT_FRAMES, NEW_MORPH_HOLD)


MAX_FPS = 240.0  # frames per second a morph may ask for (the window's fields stop here too)
MAX_SEED = 2**63 - 1  # what torch.manual_seed and numpy generators take
# Frame counts a morph may ask for, up to timeline.MAX_FRAMES; the window's fields read these too.
MIN_FRAMES = 2  # a whole morph: its two ends
MIN_SEGMENT_FRAMES = 1  # one segment: its first keyframe alone
MAX_HOLD = MAX_FRAMES  # rest frames on each keyframe


@dataclass(frozen=True)
class MorphSettings:
    size: tuple[int, int] = (512, 512)
    fit: FitMode = "crop"  # validate() refuses other text (a project file is untrusted input)
    background: tuple[int, int, int] = (255, 255, 255)
    path: str = "slerp"
    ease: str = "linear"
    hold: int = 0  # extra frames each keyframe is shown for
    loop: str = "none"
    fps: float = 24.0
    frames: int | None = None  # total frame count; None: segment_frames decides
    segment_frames: tuple[int, ...] = (DEFAULT_SEGMENT_FRAMES,)  # one value for all, or one per segment
    segments: tuple[SegmentSpec, ...] | None = None  # explicit per-segment settings (from a project)
    seed: int = 0  # for stochastic backends; the TAE path itself is deterministic
    # Shape-aware morphs (issue 5): per-segment point pairs (source-image coords, see
    # core/domain/points.py); None or empty lists: plain interpolation, today's frames exactly.
    points: tuple[SegmentPoints, ...] | None = None
    # For editing only, never read by the renderer: which pairs auto-align found and which the user
    # placed (core/domain/point_origins.py); None: every pair by hand.
    point_origins: tuple[SegmentOrigins, ...] | None = None
    warp: str = DEFAULT_WARP_MODE  # "frame", "pixel" or "latent" (core/align/warp.py); unused without points
    # Autoencoder morphs: "even" re-places in-betweens so neighbouring frames differ evenly
    # (core/timeline/pacing.py); "linear" keeps the eased t. New CLI morphs ask for "even"; projects that do
    # not say (made before it existed) are linear. Diffusion models pace with ``diffusion.pacing``.
    pacing: str = "linear"
    diffusion: DiffusionSettings = field(default_factory=DiffusionSettings)  # diffusion models only
    notes: tuple[str, ...] = field(default=(), compare=False)

    def validate(self) -> None:
        # Upper bounds too: a project file is untrusted input, and a size or frame count far
        # beyond any real morph would make the render allocate or loop without end.
        width, height = self.size
        if width <= 0 or height <= 0 or width % 8 or height % 8:
            raise InputError(f"size {width}x{height}: both sides must be positive multiples of 8")
        if width > MAX_SIDE or height > MAX_SIDE:
            raise InputError(f"size {width}x{height}: each side must be at most {MAX_SIDE} pixels")
        if len(self.background) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in self.background
        ):
            raise InputError(f"background {self.background!r}: must be three values 0-255")
        if self.fit not in FIT_CHOICES:
            raise InputError(f"--fit {self.fit}: choose one of {', '.join(FIT_CHOICES)}")
        if self.path not in PATH_CHOICES:
            raise InputError(f"--path {self.path}: choose one of {', '.join(PATH_CHOICES)}")
        if self.loop not in LOOP_CHOICES:
            raise InputError(f"--loop {self.loop}: choose one of {', '.join(LOOP_CHOICES)}")
        if not (math.isfinite(self.fps) and 0 < self.fps <= MAX_FPS):
            raise InputError(f"--fps {self.fps:g}: must be above 0 and at most {MAX_FPS:g}")
        if not 0 <= self.hold <= MAX_HOLD:
            raise InputError(f"--hold {self.hold}: must be between 0 and {MAX_HOLD}")
        if self.frames is not None and not MIN_FRAMES <= self.frames <= MAX_FRAMES:
            raise InputError(f"--frames {self.frames}: must be between {MIN_FRAMES} and {MAX_FRAMES}")
        if any(not MIN_SEGMENT_FRAMES <= n <= MAX_FRAMES for n in self.segment_frames):
            raise InputError(
                f"--segment-frames: every segment needs between {MIN_SEGMENT_FRAMES} and {MAX_FRAMES} frames"
            )
        if not -MAX_SEED <= self.seed <= MAX_SEED:
            raise InputError(f"--seed {self.seed}: must be a 64-bit number")
        parse_ease(self.ease)
        self.diffusion.validate()
        if self.pacing not in PACING_CHOICES:
            raise InputError(f"--pacing {self.pacing}: choose one of {', '.join(PACING_CHOICES)}")
        if self.warp not in WARP_MODES:
            raise InputError(f"--warp {self.warp}: choose one of {', '.join(WARP_MODES)}")
        for i, segment in enumerate(self.segments or ()):
            if not MIN_SEGMENT_FRAMES <= segment.steps <= MAX_FRAMES:
                raise InputError(
                    f"segment {i + 1}: needs between {MIN_SEGMENT_FRAMES} and {MAX_FRAMES} frames, "
                    f"got {segment.steps}"
                )
            parse_ease(segment.ease)

    def segment_specs(self, n_keyframes: int) -> list[SegmentSpec]:
        """Per-segment steps and easing for ``n_keyframes`` keyframes."""
        n_segments = len(segment_pairs(n_keyframes, self.loop))
        if self.segments is not None:
            if len(self.segments) != n_segments:
                raise InputError(
                    f"the project has settings for {len(self.segments)} segments but {n_keyframes} "
                    f"keyframes with loop '{self.loop}' make {n_segments}"
                )
            return list(self.segments)
        if self.frames is not None:
            steps = distribute_frames(self.frames, n_keyframes, self.loop, self.hold)
        elif len(self.segment_frames) == 1:
            steps = [self.segment_frames[0]] * n_segments
        elif len(self.segment_frames) == n_segments:
            steps = list(self.segment_frames)
        else:
            raise InputError(
                f"--segment-frames: {len(self.segment_frames)} values given for {n_segments} segments"
            )
        return [SegmentSpec(n, self.ease) for n in steps]
