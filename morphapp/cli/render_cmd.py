"""``morphapp render``: keyframes (or a project) to a GIF, MP4, WebM or PNG sequence."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from morphapp.app.music import project_music
from morphapp.cli.progress import ProgressBar
from morphapp.cli.render_engine import engine_options, opened_engine
from morphapp.cli.render_project import (
    align_mode,
    aligned,
    audio_reactive,
    check_pictures_open,
    on_beats,
    project_from_args,
    segment_count,
    with_pacing,
)
from morphapp.core.atomic import atomic_write_text, check_writable_target
from morphapp.core.domain.choices import (
    ALIGN_MODES,
    BACKEND_CHOICES,
    DEVICE_CHOICES,
    DTYPE_CHOICES,
    PATH_CHOICES,
    PRECISION_CHOICES,
    WARP_MODES,
)
from morphapp.core.domain.diffusion_settings import METHOD_CHOICES, PACING_CHOICES
from morphapp.core.domain.keyframes import (
    image_keyframes,
)
from morphapp.core.domain.project import (
    Project,
    ProjectAudio,
    project_to_dict,
    with_hashes,
)
from morphapp.core.domain.settings import (
    FIT_CHOICES,
    NEW_MORPH_HOLD,
    NEW_MORPH_SEGMENT_FRAMES,
)
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.notes import NoteFn
from morphapp.core.timeline.easing import EASE_NAMES
from morphapp.core.timeline.plan import LOOP_CHOICES
from morphapp.errors import InputError
from morphapp.export import FORMATS, check_output, format_for_path
from morphapp.export.audio import AUDIO_CODECS, AudioSource
from morphapp.export.gif import DITHERS, PALETTES

if TYPE_CHECKING:
    pass

# What loads torch (over a second), the model scan and the engine are imported in the functions
# that use them, after the inputs and the output have been checked: a bad keyframe, points file,
# project file or output folder is refused at once, before any of that loads (tests/cli).


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "render",
        help="render a morph to GIF, MP4, WebM or a PNG sequence",
        description="Render a morph between two or more keyframe images, or a saved project.",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="KEYFRAME",
        help="two or more images (or, with a Stable Diffusion model, prompt:TEXT / prompt[SEED]:TEXT), "
        "or one PROJECT.json",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", type=Path, help="output file (.gif, .mp4, .webm) or folder (PNG sequence)"
    )
    p.add_argument("--format", choices=sorted(FORMATS), help="output format (default: from the extension)")
    # Settings default to None so that, with a project, only the flags actually given override it.
    p.add_argument("--frames", type=int, help="total number of frames")
    p.add_argument(
        "--segment-frames",
        help=f"frames per segment: N, or N,N,... one per segment (default {NEW_MORPH_SEGMENT_FRAMES}: "
        "two seconds at 24 fps)",
    )
    p.add_argument("--fps", type=float, help="frames per second (default 24)")
    p.add_argument("--size", help="output size WxH, rounded to multiples of 8 (default 512x512)")
    p.add_argument("--fit", choices=FIT_CHOICES, help="fit images to the size: crop (default), pad, stretch")
    p.add_argument("--background", help="colour behind transparent or padded areas (default white)")
    p.add_argument("--model", help="model name or path (default: the first model found)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to run (default auto)")
    p.add_argument(
        "--backend", choices=BACKEND_CHOICES, default="auto",
        help="torch or onnx (ONNX Runtime); auto: the fastest on this machine, measured once and cached",
    )  # fmt: skip
    p.add_argument(
        "--precision", choices=PRECISION_CHOICES, default="auto",
        help="fp32, bf16 or fp16; auto: the fastest whose frames stay within 40 dB PSNR of fp32",
    )  # fmt: skip
    p.add_argument(
        "--dtype", choices=DTYPE_CHOICES, help="torch weight precision (as --backend torch --precision)"
    )
    p.add_argument("--path", choices=PATH_CHOICES, help="interpolation path (default slerp)")
    p.add_argument("--ease", help=f"easing of each segment: {', '.join(EASE_NAMES)} (default linear)")
    p.add_argument(
        "--hold",
        type=int,
        help=f"extra frames to hold on each keyframe (default {NEW_MORPH_HOLD} for a new morph without "
        "--frames, --segment-frames or --audio, else 0; a project: its own)",
    )
    p.add_argument("--loop", choices=LOOP_CHOICES, help="none (default), loop back to the first, pingpong")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument(
        "--points", type=Path, metavar="FILE.json",
        help="shape-aware morph: corresponding points [[xa, ya, xb, yb], ...] (0-1 in each image), "
        "or one such list per segment",
    )  # fmt: skip
    p.add_argument(
        "--align", choices=ALIGN_MODES,
        help="line the keyframes up before morphing: auto (the default for images: faces when both show "
        "one, else feature matching and optical flow, else no warp), faces / features (that path only), "
        "none (a plain latent cross-dissolve). A saved project renders with the points it stores",
    )  # fmt: skip
    p.add_argument(
        "--align-model", metavar="NAME|PATH",
        help="with --align auto: a Stable Diffusion model whose UNet features (DIFT) pair points of "
        "different objects (a cat's eye with a dog's); kept only where it beats the other paths",
    )  # fmt: skip
    p.add_argument(
        "--warp", choices=WARP_MODES,
        help="with points: frame (default: each keyframe warped once to the segment's middle shape, each "
        "decoded frame warped to its own; fast and sharp), pixel (keyframes warped and encoded for every "
        "frame; as sharp, about 2x slower) or latent (the latent grid warped; softer)",
    )  # fmt: skip
    p.add_argument("--report", action="store_true", help="print quality figures of each segment")
    diffusion = p.add_argument_group("diffusion models (Stable Diffusion 1.x/2.x/SDXL given with --model)")
    diffusion.add_argument("--steps", type=int, help="DDIM denoising steps (default 25)")
    diffusion.add_argument(
        "--guidance", type=float,
        help="classifier-free guidance scale (default: 1 for image morphs, 7.5 with prompt keyframes)",
    )  # fmt: skip
    diffusion.add_argument(
        "--strength", type=float, help="how far images are inverted towards noise, 0-1 (default 1: fully)"
    )
    diffusion.add_argument(
        "--attn-steps", type=float,
        help="share of the steps that mix the endpoints' self-attention into in-betweens (default 0.6)",
    )  # fmt: skip
    diffusion.add_argument(
        "--method", choices=METHOD_CHOICES,
        help="how in-betweens attend to the keyframes: inner (default; AID: over their own and the "
        "keyframes' lerped keys/values), outer (AID: to each keyframe apart, the results blended by t) "
        "or freemorph (FreeMorph's denoising: outer blending, the keyframes alone for the first fifth of "
        "the steps, and high-frequency noise injected into each in-between)",
    )  # fmt: skip
    p.add_argument(
        "--pacing", choices=PACING_CHOICES,
        help="even (the default for a new autoencoder morph): in-betweens re-placed so neighbouring frames "
        "differ evenly (autoencoders: measured on quick half-size decodes; diffusion models: a first pass "
        "rendered and measured); linear: the eased t as it is",
    )  # fmt: skip
    diffusion.add_argument(
        "--attn-budget", type=float, metavar="GB",
        help="memory for recorded self-attention (all keyframe states kept; default: a quarter of the GPU's "
        "memory up to 4, else 2); a small budget records fewer layers and steps",
    )  # fmt: skip
    diffusion.add_argument(
        "--prompt", action="append", metavar="TEXT",
        help="a prompt describing an image keyframe; once for all, or once per image keyframe in order",
    )  # fmt: skip
    p.add_argument(
        "--audio", type=Path, metavar="FILE",
        help="music (WAV, MP3, FLAC, OGG, M4A ...) muxed into MP4 (AAC), WebM (Opus) or MOV (PCM), cut "
        "where the video ends; without --frames every keyframe lands on a beat",
    )  # fmt: skip
    p.add_argument(
        "--audio-reactive", action="store_true",
        help="with --audio: the morph moves faster where the music is loud and busy (the in-between "
        "spacing follows its onset strength); keyframes stay on their beats",
    )  # fmt: skip
    p.add_argument(
        "--beats-per-keyframe", type=int, metavar="N",
        help="with --audio: a keyframe every N beats (default: the keyframes spread over the whole track)",
    )  # fmt: skip
    gif = p.add_argument_group("GIF output")
    gif.add_argument(
        "--gif-palette", choices=PALETTES,
        help="per-frame (default): the best 256 colours for each frame; global: one palette for the whole "
        "morph (a smaller file, slightly less faithful colours)",
    )  # fmt: skip
    gif.add_argument(
        "--gif-dither",
        choices=DITHERS,
        help="floyd-steinberg (default), none, or ordered (no shimmer, smaller)",
    )
    gif.add_argument("--gif-loops", type=int, metavar="N", help="play N times (default 0: forever)")
    p.add_argument("--batch", type=int, default=1, help="frames decoded per model call (default 1)")
    cluster = p.add_argument_group("distributed renders (Ray; pip install 'morphapp[cluster]')")
    cluster.add_argument(
        "--workers", type=int, metavar="N",
        help="render on N Ray workers: a local Ray instance of N, or at most N of a cluster's (one per GPU)",
    )  # fmt: skip
    cluster.add_argument(
        "--ray-address", metavar="HOST:PORT",
        help="join a running Ray cluster (`ray start --head` prints its address); every GPU gets a worker",
    )  # fmt: skip
    p.add_argument("--save-project", type=Path, metavar="P", help="also write the morph as a project file")
    p.add_argument(
        "--embed-project", action="store_true",
        help="store the whole project in the output (its pictures' file names, folders and content hashes, "
        "prompts, music), so the file opens as the project again; by default an export carries only the "
        "app, its version and the settings, nothing that points at your files",
    )  # fmt: skip
    p.add_argument(
        "--resume",
        action="store_true",
        help="PNG sequences: continue an interrupted render to the same folder, making only missing frames",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    note = (lambda _line: None) if args.quiet else (lambda line: print(f"note: {line}", file=sys.stderr))
    project = project_from_args(args, note)
    check_pictures_open(project)  # a bad picture is said at once, before any model or calibration work
    if args.align not in (None, "none"):
        if args.points is not None:
            raise InputError(f"--points and --align {args.align}: give one or the other")
        image_keyframes(project.keyframes, f"--align {args.align}")  # a clear error now, not after other work
    if project.settings.points is not None and len(project.settings.points) > segment_count(project):
        given, wanted = len(project.settings.points), segment_count(project)
        raise InputError(f"{args.points or 'points'}: {given} lists of points for {wanted} segment(s)")
    if args.output is None and args.save_project is None:
        raise InputError("no output: give -o OUT (and/or --save-project P)")
    # Where it all goes, before any work (the music's beats, the model scan, calibration):
    fmt, gif = _checked_output(args)  # the output's type, its flags and its folder
    if args.save_project is not None:
        check_writable_target(args.save_project)
    audio = None
    if args.audio is not None:
        if args.output is None:
            raise InputError("--audio goes into a video: give -o OUT.mp4 (or .webm, .mov)")
        if format_for_path(args.output, args.format).container not in AUDIO_CODECS:
            raise InputError(f"--audio: {args.output} has no audio track; use MP4, WebM or MOV")
        audio = AudioSource.open(args.audio)
        if args.frames is None and args.segment_frames is None:  # keyframes on the music's beats
            project, audio = on_beats(project, audio, args.beats_per_keyframe, note)
        if args.audio_reactive:
            project = audio_reactive(project, audio, note)
        project = dataclasses.replace(
            project, audio=ProjectAudio(audio.path, file_sha256(audio.path), audio.start)
        )  # the project keeps the music, and where the video starts in it
    elif args.audio_reactive:
        raise InputError("--audio-reactive follows music: give --audio FILE")
    elif project.audio is not None and args.output is not None:
        audio = project_music(project, args.output, args.format, note)
    # The inputs and the output are good: now the model scan, torch and the engine load.
    import torch

    from morphapp.app.export_project import ExportRequest, export_project
    from morphapp.app.project_model import with_model_recorded
    from morphapp.core.render.device import resolve_device
    from morphapp.core.render.frames import plan_for
    from morphapp.models.backend import candidates
    from morphapp.models.project_model import model_for_project

    # Find the model first (a scan; no weights are loaded): the project records which files it used,
    # and names the model (the default one too), so that it opens with the same model elsewhere.
    model, changes = model_for_project(project, explicit=args.model is not None)
    for line in changes:
        note(line)
    project = with_model_recorded(project, model)
    project = with_pacing(project, model, args)
    align = align_mode(args, project, model)
    if align == "none" and args.align_model is not None:
        raise InputError("--align-model goes with --align auto")
    if args.output is None:
        _save(aligned(project, align, args, note), args.save_project, note)
        return 0

    settings = project.settings
    plan = plan_for(settings, len(project.keyframes))
    if settings.frames is not None and len(plan) != settings.frames:
        note(f"--frames {settings.frames}: {len(plan)} frames fit the loop and hold settings exactly")
    distributed = args.workers is not None or args.ray_address is not None
    # Over Ray the workers find their own device: this machine (the driver) may have no GPU at all.
    device = (
        torch.device(args.device) if distributed and args.device != "auto" else resolve_device(args.device)
    )
    options = engine_options(project, model, device, args)  # contradicting flags fail before the
    if not distributed and not model.is_diffusion:  # alignment's work, and so do impossible backends
        candidates(device, options.backend, options.precision)
    project = aligned(project, align, args, note)
    request = ExportRequest(
        project, args.output, format=fmt.name, writer_options=gif, music=audio,
        embed_project=args.embed_project, resume=args.resume, report=args.report,
    )  # fmt: skip
    with (
        opened_engine(project, model, device, args, note) as engine,
        ProgressBar(len(plan), not args.quiet) as bar,
    ):
        result = export_project(request, engine, progress=bar.update, note=note)
    for line in result.report:
        print(line)
    if args.save_project is not None:  # only now: a failed render writes no project either
        _save(project, args.save_project, note, result.report_json)
    made = "" if result.rendered_now is None else f" ({result.rendered_now} rendered now)"
    note(f"wrote {result.frames_written} frames to {args.output}{made} in {result.seconds:.1f} s")
    return 0


def _checked_output(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The output's format and GIF options, once its type, its flags and its folder are known to be
    good (an unwritable target fails here, before any model or calibration work)."""
    if args.output is None:
        return None, {}
    fmt = format_for_path(args.output, args.format)
    if args.resume and not fmt.is_folder:
        raise InputError(
            f"--resume: only a PNG sequence (an output folder) can be resumed, not {fmt.name}; "
            "a killed video or GIF is made again from the start"
        )
    gif = _gif_options(args, fmt)
    check_output(args.output, fmt.name)
    return fmt, gif


def _gif_options(args: argparse.Namespace, fmt: Any) -> dict[str, Any]:
    """--gif-palette / --gif-dither / --gif-loops as ``open_writer`` arguments (GIF output only)."""
    given = {"palette": args.gif_palette, "dither": args.gif_dither}
    options = {name: value for name, value in given.items() if value is not None}
    if fmt.writer != "gif":
        flags = [f"--gif-{n}" for n, v in (*given.items(), ("loops", args.gif_loops)) if v is not None]
        if flags:
            raise InputError(f"{', '.join(flags)}: GIF options, but {args.output.name} is {fmt.name}")
        return {}
    if args.gif_loops is not None and args.gif_loops < 0:
        raise InputError(f"--gif-loops {args.gif_loops}: give 0 (forever) or a play count")
    return {"options": options, "loop": 0 if args.gif_loops is None else args.gif_loops}


def _save(project: Project, path: Path, note: NoteFn, report: Any = None) -> None:
    """Write the project; with the export's ``report``, that too (loading ignores it)."""
    data = project_to_dict(with_hashes(project), path.resolve().parent)
    if report is not None:
        data["report"] = report
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    note(f"project saved to {path}")
