"""The engine ``morphapp render`` renders through: its options from the flags (checked against
the kind of model), in this process or over Ray workers. torch and the engine are imported in the
functions, once the inputs are known to be good (``render_cmd``)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from morphapp.cli.render_project import DIFFUSION_FLAGS
from morphapp.core.domain.choices import (
    DTYPE_TO_PRECISION,
)
from morphapp.core.domain.keyframes import (
    PromptKeyframe,
    latent_keyframes,
)
from morphapp.core.domain.project import (
    Project,
)
from morphapp.core.notes import NoteFn
from morphapp.errors import InputError

if TYPE_CHECKING:
    import torch

    from morphapp.engine import EngineOptions, FrameRenderer, MorphEngine
    from morphapp.models.info import ModelInfo


@contextlib.contextmanager
def opened_engine(
    project: Project, model: ModelInfo, device: torch.device, args: argparse.Namespace, note: NoteFn
) -> Iterator[FrameRenderer]:
    """The engine for ``model``: in this process, or over Ray workers (--workers / --ray-address)."""
    from morphapp.engine import open_engine

    options = engine_options(project, model, device, args)
    if args.workers is None and args.ray_address is None:
        engine: MorphEngine = open_engine(model, device, options, note=note)
        describe_diffusion(project, model, note)
        yield engine
        return
    from morphapp.cluster.options import ClusterOptions
    from morphapp.cluster.ray_runner import ClusterRender

    cluster = ClusterOptions(workers=args.workers, address=args.ray_address)
    with ClusterRender(model, options, cluster, device=args.device, note=note) as distributed:
        note(f"model {model.name} ({model.family}) on each worker")
        describe_diffusion(project, model, note)
        yield distributed


def engine_options(
    project: Project, model: ModelInfo, device: torch.device, args: argparse.Namespace
) -> EngineOptions:
    """How to run ``model``, after the checks of the flags that only one kind of model takes."""
    from morphapp.engine import EngineOptions

    if not model.is_diffusion:
        latent_keyframes(project.keyframes, model.name)
        refuse_diffusion_flags(args, model)
        backend, precision = backend_and_precision(args, device)
        return EngineOptions(backend, precision, batch_size=args.batch)
    from morphapp.app.checks import check_points_fit_model

    check_points_fit_model(project.settings, model)
    if args.backend == "onnx" or args.batch != 1:
        raise InputError("--backend onnx and --batch work with autoencoder (TAE) models only")
    dtype = diffusion_dtype(args, device)
    if args.attn_budget is not None and not 0 < args.attn_budget < 10_000:
        raise InputError(f"--attn-budget {args.attn_budget}: give the gigabytes, above 0")
    budget = None if args.attn_budget is None else int(args.attn_budget * 1024**3)
    return EngineOptions(dtype=dtype, attn_budget=budget)


def describe_diffusion(project: Project, model: ModelInfo, note: NoteFn) -> None:
    if not model.is_diffusion:
        return
    options = project.settings.diffusion
    has_prompts = any(isinstance(k, PromptKeyframe) for k in project.keyframes)
    note(
        f"diffusion: {options.steps} DDIM steps, guidance {options.guidance_for(has_prompts):g}, "
        f"strength {options.strength:g}, attention mixing {options.attn_steps:g} ({options.method}), "
        f"pacing {options.pacing}"
    )


def diffusion_dtype(args: argparse.Namespace, device: torch.device) -> torch.dtype | None:
    """--precision / --dtype for a diffusion model; None: float16 on CUDA, float32 elsewhere."""
    import torch

    from morphapp.core.render.device import resolve_dtype

    if args.dtype is not None:
        return resolve_dtype(args.dtype, device)
    if args.precision in ("auto", None):
        return None
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]


def refuse_diffusion_flags(args: argparse.Namespace, model: ModelInfo) -> None:
    given = [f"--{name.replace('_', '-')}" for name in DIFFUSION_FLAGS if getattr(args, name) is not None]
    if given:
        raise InputError(
            f"{', '.join(given)}: diffusion settings, but {model.name} is an autoencoder; "
            "choose a Stable Diffusion model with --model"
        )


def backend_and_precision(args: argparse.Namespace, device: Any) -> tuple[str, str]:
    """--backend/--precision, with the older --dtype: a torch weight dtype, as it always was."""
    if args.dtype is None:
        return args.backend, args.precision
    if args.backend == "onnx":
        raise InputError("--dtype is the torch backend's precision; with --backend onnx use --precision")
    from morphapp.core.render.device import resolve_dtype

    dtype = str(resolve_dtype(args.dtype, device)).removeprefix("torch.")
    precision = DTYPE_TO_PRECISION[dtype]
    if args.precision not in ("auto", precision):
        raise InputError(f"--dtype {args.dtype} and --precision {args.precision}: give one or the other")
    return "torch", precision
