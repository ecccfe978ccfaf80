"""The project that ``morphapp render``'s arguments describe: keyframes, settings, timing, points.

A new morph's defaults (pacing, length, alignment), a saved project re-rendered with flags over it,
music timing and auto-align: everything the command decides before a model is opened."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from morphapp.app.music import settings_on_beats
from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframe_args import parse_keyframe_arg
from morphapp.core.domain.keyframes import (
    AnyKeyframe,
    Keyframe,
    image_files,
    image_keyframes,
)
from morphapp.core.domain.point_merge import merge_all
from morphapp.core.domain.points import load_points
from morphapp.core.domain.project import (
    Project,
    load_project,
)
from morphapp.core.domain.settings import (
    NEW_MORPH_PACING,
    MorphSettings,
    new_morph_timing,
)
from morphapp.core.imaging.decode import open_image
from morphapp.core.imaging.load import parse_color, parse_size
from morphapp.core.notes import NoteFn
from morphapp.core.timeline.plan import segment_pairs
from morphapp.errors import InputError
from morphapp.export.audio import AudioSource

if TYPE_CHECKING:
    from morphapp.models.info import ModelInfo


def project_from_args(args: argparse.Namespace, note: Any) -> Project:
    inputs = [parse_keyframe_arg(text) for text in args.inputs]
    first = inputs[0]
    if len(inputs) == 1 and isinstance(first, Keyframe) and first.path.suffix.lower() == ".json":
        project = load_project(first.path)
        overrides = settings_overrides(args, note)
        if "frames" in overrides or "segment_frames" in overrides:
            overrides["segments"] = None  # the user re-times the morph
        overrides["diffusion"] = dataclasses.replace(project.settings.diffusion, **diffusion_overrides(args))
        settings = dataclasses.replace(project.settings, **overrides)
        settings.validate()
        keyframes = with_prompts(project.keyframes, args.prompt)
        return dataclasses.replace(
            project, keyframes=keyframes, settings=settings, model=args.model or project.model
        )
    if len(inputs) < 2:
        raise InputError("give two or more keyframe images (or one PROJECT.json)")
    for keyframe in image_files(inputs):  # expression terms too
        if not keyframe.path.exists():
            raise InputError(f"{keyframe.path}: file not found")
    overrides = settings_overrides(args, note)
    settings = MorphSettings(**overrides, diffusion=DiffusionSettings(**diffusion_overrides(args)))
    settings.validate()
    return Project(with_prompts(tuple(inputs), args.prompt), settings, args.model)


def settings_overrides(args: argparse.Namespace, note: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.size is not None:
        size, size_note = parse_size(args.size)
        if size_note:
            note(size_note)
        out["size"] = size
    if args.background is not None:
        out["background"] = parse_color(args.background)
    if args.segment_frames is not None:
        try:
            out["segment_frames"] = tuple(int(v) for v in args.segment_frames.split(","))
        except ValueError as exc:
            raise InputError(f"--segment-frames {args.segment_frames}: expected N or N,N,...") from exc
        if args.frames is not None:
            raise InputError("--frames and --segment-frames: give one or the other")
    if args.points is not None:
        out["points"] = load_points(args.points)
        out["point_origins"] = None  # a points file is the user's own: every pair by hand
    for name in ("frames", "fps", "fit", "path", "ease", "hold", "loop", "seed", "warp"):
        value = getattr(args, name)
        if value is not None:
            out[name] = value
    return out


def diffusion_overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = [n for n in DIFFUSION_FLAGS if n not in ("prompt", "attn_budget")]  # not project settings
    # (--pacing is both kinds' setting: with_pacing applies it once the model is known)
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def with_prompts(keyframes: tuple[AnyKeyframe, ...], prompts: list[str] | None) -> tuple[AnyKeyframe, ...]:
    """--prompt TEXT for every image keyframe, or one --prompt per image keyframe in order."""
    if not prompts:
        return keyframes
    images = [(i, k) for i, k in enumerate(keyframes) if isinstance(k, Keyframe)]
    if len(prompts) not in (1, len(images)):
        raise InputError(
            f"--prompt given {len(prompts)} times for {len(images)} image keyframes: give it once for all, "
            "or once per image keyframe"
        )
    texts = prompts * len(images) if len(prompts) == 1 else prompts
    out = list(keyframes)
    for (index, keyframe), text in zip(images, texts, strict=True):
        out[index] = dataclasses.replace(keyframe, prompt=text.strip())
    return tuple(out)


DIFFUSION_FLAGS = ("steps", "guidance", "strength", "attn_steps", "method", "prompt", "attn_budget")


def with_pacing(project: Project, model: ModelInfo, args: argparse.Namespace) -> Project:
    """--pacing: a diffusion model's setting, or the autoencoder morph's own, ``even`` by default for
    a new morph (steps of even size, not a slow start and a rush) and as saved for a project. A new
    autoencoder morph with no timing flags (and no music to time it) also gets the new-morph length
    and rests (``core/domain/settings.py``); a diffusion morph keeps 24 frames, each of which costs
    seconds."""
    settings = project.settings
    if model.is_diffusion:
        if args.pacing is None:
            return project
        settings = dataclasses.replace(
            settings, diffusion=dataclasses.replace(settings.diffusion, pacing=args.pacing)
        )
    else:
        new_morph = not is_project_arg(args)
        pacing = args.pacing or (NEW_MORPH_PACING if new_morph else settings.pacing)
        settings = dataclasses.replace(settings, pacing=pacing)
        # The length and rests of a new morph, unless the artist timed it (frames, music): then
        # no rests unless asked, so that --frames N gives N frames of morph.
        if new_morph and args.audio is None and args.frames is None and args.segment_frames is None:
            frames, hold = new_morph_timing(diffusion=False)
            settings = dataclasses.replace(settings, segment_frames=(frames,))
            if args.hold is None:
                settings = dataclasses.replace(settings, hold=hold)
    settings.validate()
    return dataclasses.replace(project, settings=settings)


def align_mode(args: argparse.Namespace, project: Project, model: ModelInfo) -> str:
    """--align as given; without it, ``auto`` for a new morph of image keyframes with an autoencoder
    (what a user expects: one subject per frame, not a double exposure) and ``none`` where points
    are given or kept (--points, a saved project: it re-renders as saved) or cannot apply."""
    if args.align is not None:
        return str(args.align)
    if args.points is not None or is_project_arg(args):
        return "none"
    if any(not isinstance(k, Keyframe) for k in project.keyframes):
        return "none"  # prompts and expressions have no pixels to pair; diffusion morphs them its own way
    if model.is_diffusion:
        return "none"  # diffusion morphs line up through attention; they take no points
    return "auto"


def is_project_arg(args: argparse.Namespace) -> bool:
    return len(args.inputs) == 1 and Path(args.inputs[0]).suffix.lower() == ".json"


def aligned(project: Project, align: str, args: argparse.Namespace, note: NoteFn) -> Project:
    """The project with the points ``align`` finds (as it is for ``none``)."""
    if align == "none":
        return project
    from morphapp.core.align.auto import align_keyframes

    keyframes = image_keyframes(project.keyframes, f"--align {align}")
    semantic = semantic_aligner(args, note)
    found = align_keyframes(keyframes, project.settings, note, align, semantic=semantic)
    # As in the window: the found pairs replace automatic ones; pairs placed by hand stay (issue 24).
    points, origins = merge_all(project.settings.points, project.settings.point_origins, found)
    settings = dataclasses.replace(project.settings, points=points, point_origins=origins)
    return dataclasses.replace(project, settings=settings)


def semantic_aligner(args: argparse.Namespace, note: NoteFn) -> Any:
    """--align-model: DIFT correspondences from that diffusion model, for --align auto."""
    if args.align_model is None:
        if args.align in ("auto", None):  # say that an installed SD model could help, without loading it
            from morphapp.models.discovery import scan

            installed = [m.name for m in scan().models if m.is_diffusion and m.usable]
            if installed:
                note(f"--align auto: add --align-model {installed[0]} to pair points by meaning as well "
                     "(diffusion features; one model load)")  # fmt: skip
        return None
    if args.align not in ("auto", None):
        raise InputError(f"--align-model goes with --align auto, not --align {args.align}")
    from morphapp.app.semantic import SemanticModels
    from morphapp.models.discovery import find_model

    info = find_model(args.align_model)
    started = time.perf_counter()
    aligner = SemanticModels().aligner(info, args.device, note)  # the window loads it the same way
    note(f"--align-model {info.name}: loaded in {time.perf_counter() - started:.1f} s")
    return aligner


def audio_reactive(project: Project, audio: AudioSource, note: NoteFn) -> Project:
    """Segments eased so that the morph's speed follows the music's onset strength."""
    from morphapp.core.timeline.music import reactive_segments
    from morphapp.music.beats import onset_envelope

    settings = project.settings
    specs = settings.segment_specs(len(project.keyframes))
    times, strength = onset_envelope(audio.path)
    segments, ratio = reactive_segments(specs, times, strength, audio.start, float(settings.fps))
    steps = tuple(spec.steps for spec in specs)
    settings = dataclasses.replace(settings, segments=segments, frames=None, segment_frames=steps)
    settings.validate()
    note(
        f"--audio-reactive: the in-between spacing follows the music's onset strength (largest frame "
        f"step {ratio:.1f}x the smallest)"
    )
    return dataclasses.replace(project, settings=settings)


def on_beats(
    project: Project, audio: AudioSource, beats_per_keyframe: int | None, note: NoteFn
) -> tuple[Project, AudioSource]:
    """Segment lengths that put every keyframe on a detected beat; the music starts at the first."""
    from morphapp.music.beats import detect_beats

    settings = project.settings
    if settings.loop != "none" or settings.hold:
        raise InputError("--audio keyframes on beats: use --loop none and no --hold (or give --frames)")
    beats, tempo = detect_beats(audio.path)
    if len(beats) < 2:  # a drone, speech, silence: no beat to land on; the morph spans the track
        frames = max(2, round(audio.duration * float(settings.fps)))
        settings = dataclasses.replace(settings, frames=frames, segments=None)
        settings.validate()
        note(f"--audio {audio.path.name}: no beats found; {audio.duration:.2f} s of music: {frames} frames")
        return dataclasses.replace(project, settings=settings), audio
    settings, timing = settings_on_beats(settings, len(project.keyframes), beats, beats_per_keyframe)
    on = ", ".join(
        f"{b + 1} ({beats[b]:.2f} s, frame {f})"
        for b, f in zip(timing.beat_indices, timing.frame_indices, strict=True)
    )
    note(
        f"--audio {audio.path.name}: {tempo:.0f} BPM, {len(beats)} beats; keyframes on beats {on}; "
        f"the video starts at {timing.start:.2f} s of the music"
    )
    return dataclasses.replace(project, settings=settings), dataclasses.replace(audio, start=timing.start)


def segment_count(project: Project) -> int:
    return len(segment_pairs(len(project.keyframes), project.settings.loop))


def check_pictures_open(project: Project) -> None:
    """Every image keyframe opens as an image (a clear error naming the file otherwise)."""
    for keyframe in image_files(project.keyframes):
        open_image(keyframe.path)
