"""The project file: a versioned JSON document that reproduces a morph exactly.

Keyframe paths are stored relative to the project file when they live beside or below it, so
a project folder can be moved as a whole; each keyframe's content hash is stored too, so a
changed image is noticed. Segments are stored resolved (steps and easing for each), so that
rendering a project never depends on defaults that a later version might change.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from morphapp import __version__
from morphapp.core.atomic import atomic_write_text
from morphapp.core.domain.choices import LEGACY_WARP_MODE
from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.json_file import read_json_file
from morphapp.core.domain.keyframe_expr import MAX_TERMS
from morphapp.core.domain.keyframes import (
    AnyKeyframe,
    ExprKeyframe,
    ExprTerm,
    Keyframe,
    PromptKeyframe,
    check_keyframes,
)
from morphapp.core.domain.point_origins import origins_to_json, parse_point_origins, stored_origins
from morphapp.core.domain.points import parse_points, points_to_json
from morphapp.core.domain.settings import MorphSettings, parse_fit
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.errors import InputError

FORMAT_NAME = "morphapp.project"
FORMAT_VERSION = 1
MAX_PROJECT_BYTES = 10_000_000  # a project is a few kB; anything huge is not one


@dataclass(frozen=True)
class ModelFile:
    """One weights file of the model a project was rendered with, to notice when it changes."""

    role: str  # "encoder", "decoder" or "encoder+decoder"
    name: str  # the file name only: model folders differ between machines
    format: str  # "safetensors", "torch-zip", ...
    size: int
    sha256: str


@dataclass(frozen=True)
class ProjectAudio:
    """The music of a morph: which file, its content hash, and where in it the video begins."""

    path: Path
    sha256: str | None = None
    start: float = 0.0  # seconds (the first beat a keyframe lands on)


@dataclass(frozen=True)
class Project:
    keyframes: tuple[AnyKeyframe, ...]
    settings: MorphSettings
    model: str | None = None  # a model name (or path) as the user chose it; None: the default
    # The model actually used (optional; projects from before it have neither field).
    model_files: tuple[ModelFile, ...] = ()
    model_latent_channels: int | None = None
    audio: ProjectAudio | None = None  # music muxed into video exports (optional)


def project_to_dict(project: Project, base: Path) -> dict[str, Any]:
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "keyframes": [_keyframe_to_dict(k, base) for k in project.keyframes],
        "model": project.model,
        "settings": _settings_to_dict(project.settings, len(project.keyframes), editing=True),
    }
    if project.audio is not None:  # only with music: other projects stay as they were
        audio = project.audio
        doc["audio"] = {
            "path": _relative(audio.path, base),
            "sha256": audio.sha256 or file_sha256(audio.path),
            "start": audio.start,
        }
    if project.model_files:
        doc["model_latent_channels"] = project.model_latent_channels
        doc["model_files"] = [asdict(f) for f in project.model_files]
    return doc


def _settings_to_dict(s: MorphSettings, n_keyframes: int, *, editing: bool = False) -> dict[str, Any]:
    """``editing``: with what only editing needs (the points' origins), for project files; an
    export's metadata is the settings that make the morph."""
    segments = s.segment_specs(n_keyframes)
    doc: dict[str, Any] = {
        "size": list(s.size),
        "fit": s.fit,
        "background": "#{:02x}{:02x}{:02x}".format(*s.background),
        "path": s.path,
        "hold": s.hold,
        "loop": s.loop,
        "fps": s.fps,
        "seed": s.seed,
        "segments": [{"steps": seg.steps, "ease": seg.ease} for seg in segments],
    }
    if s.pacing != "linear":  # only when set: projects made before even pacing stay as they were
        doc["pacing"] = s.pacing
    if s.points and any(s.points):  # shape-aware morphs only: plain projects stay as they were
        doc["points"] = points_to_json(s.points)
        origins = origins_to_json(s.points, s.point_origins) if editing else None
        if origins is not None:  # only with automatic points: hand-placed projects stay as they were
            doc["point_origins"] = origins
        doc["warp"] = s.warp
    if s.diffusion != DiffusionSettings():  # only when set: TAE projects stay as they were
        doc["diffusion"] = asdict(s.diffusion)
    return doc


def export_metadata(project: Project, base: Path, *, embed_project: bool = False) -> dict[str, Any]:
    """What an export carries (GIF comment, video metadata, a PNG sequence's morph.json).

    By default nothing that points at the user's files: the app and version, the keyframes' kinds
    and the settings that make the morph; no paths or file names, no content hashes (a fingerprint
    of a private photo), no prompts, no music file; the model by name only. With ``embed_project``
    (the user asks for it: ``--embed-project``, the export dialog's box) the whole project, paths
    relative to ``base`` where they can be, so that the file opens as the project again."""
    if embed_project:
        return project_to_dict(with_hashes(project), base)
    kinds = {ExprKeyframe: "expr", PromptKeyframe: "prompt"}
    return {
        "app": "morphapp",
        "app_version": __version__,
        "keyframes": [{"type": kinds.get(type(k), "image")} for k in project.keyframes],
        "model": Path(project.model).name if project.model else None,
        "settings": _settings_to_dict(project.settings, len(project.keyframes)),
    }


def _keyframe_to_dict(keyframe: AnyKeyframe, base: Path) -> dict[str, Any]:
    if isinstance(keyframe, ExprKeyframe):  # "expr" is for people reading the file; "terms" is loaded
        terms = [{"weight": term.weight, **_keyframe_to_dict(term.source, base)} for term in keyframe.terms]
        return {"type": "expr", "expr": keyframe.text(names=True), "terms": terms}
    if isinstance(keyframe, PromptKeyframe):
        return {"type": "prompt", "prompt": keyframe.prompt, "seed": keyframe.seed}
    doc: dict[str, Any] = {
        "type": "image",
        "path": _relative(keyframe.path, base),
        "sha256": keyframe.sha256 or file_sha256(keyframe.path),
    }
    if keyframe.prompt:
        doc["prompt"] = keyframe.prompt
    return doc


def save_project(project: Project, path: Path | str) -> None:
    path = Path(path)
    data = project_to_dict(project, path.resolve().parent)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def load_project(path: Path | str) -> Project:
    path = Path(path)
    data = read_json_file(path, "morphapp project", MAX_PROJECT_BYTES, missing="project file")
    return project_from_dict(data, path.resolve().parent, str(path))


def project_from_dict(data: Any, base: Path, where: str = "project") -> Project:
    reader = _Reader(where)
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise InputError(f'{where}: not a morphapp project (no "format": "{FORMAT_NAME}")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{where}: version must be a positive whole number")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{where}: made by a newer morphapp (project version {version}; this one reads up to "
            f"{FORMAT_VERSION}); update morphapp"
        )
    keyframes = tuple(
        _keyframe_from_dict(k, f"keyframes[{i}]", base, reader)
        for i, k in enumerate(reader.array(data, "keyframes", ""))
    )
    raw = reader.mapping(data, "settings", "")
    size = reader.array(raw, "size", "settings")
    if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        raise InputError(f"{where}: settings.size must be [width, height] in pixels")
    segments = tuple(
        SegmentSpec(
            reader.integer(seg, "steps", f"settings.segments[{i}]"), reader.opt_text(seg, "ease") or "linear"
        )
        for i, seg in enumerate(reader.array(raw, "segments", "settings"))
    )
    eases = {seg.ease for seg in segments}
    points = parse_points(raw["points"], f"{where}: settings.points") if "points" in raw else None
    origins = None  # projects before origins (and hand-placed ones): every pair by hand
    if "point_origins" in raw:
        parsed = parse_point_origins(raw["point_origins"], points, f"{where}: settings.point_origins")
        origins = stored_origins(points, parsed)
    settings = MorphSettings(
        size=(size[0], size[1]),
        ease=eases.pop() if len(eases) == 1 else "linear",  # the "all segments" easing, when they agree
        fit=parse_fit(reader.text(raw, "fit", "settings")),
        background=_parse_hex(reader.text(raw, "background", "settings"), where),
        path=reader.text(raw, "path", "settings"),
        hold=reader.integer(raw, "hold", "settings"),
        loop=reader.text(raw, "loop", "settings"),
        fps=reader.number(raw, "fps", "settings"),
        seed=reader.integer(raw, "seed", "settings"),
        segments=segments,
        points=points,
        point_origins=origins,
        warp=reader.text(raw, "warp", "settings") if "warp" in raw else LEGACY_WARP_MODE,
        pacing=reader.text(raw, "pacing", "settings") if "pacing" in raw else "linear",
        diffusion=_diffusion_settings(raw, reader),
    )
    try:
        settings.validate()
        check_keyframes(keyframes)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise InputError(f"{where}: model must be a name or null")
    return Project(
        keyframes, settings, model, *_model_record(data, reader, where), audio=_audio(data, reader, base)
    )


def _audio(data: dict[str, Any], reader: _Reader, base: Path) -> ProjectAudio | None:
    if "audio" not in data:
        return None
    doc = reader.mapping(data, "audio", "")
    start = reader.number(doc, "start", "audio")
    if not 0 <= start < 86_400:
        raise InputError(f"{reader.where}: audio.start must be between 0 and a day of seconds")
    return ProjectAudio(
        _absolute(reader.path(doc, "path", "audio"), base), reader.opt_text(doc, "sha256"), start
    )


def _keyframe_from_dict(
    doc: Any, where: str, base: Path, reader: _Reader, *, term: bool = False
) -> AnyKeyframe:
    kind = doc.get("type", "image") if isinstance(doc, dict) else None
    if kind == "expr" and not term:
        docs = reader.array(doc, "terms", where)
        if not docs or len(docs) > MAX_TERMS:
            raise InputError(f"{reader.where}: {where}.terms: an expression has 1 to {MAX_TERMS} terms")
        terms = []
        for i, term_doc in enumerate(docs):
            at = f"{where}.terms[{i}]"
            source = _keyframe_from_dict(term_doc, at, base, reader, term=True)
            weight = reader.number(term_doc, "weight", at)
            if not math.isfinite(weight):
                raise InputError(f"{reader.where}: {at}.weight must be a finite number")
            terms.append(ExprTerm(weight, source))  # type: ignore[arg-type]
        if all(term.weight == 0 for term in terms):
            raise InputError(f"{reader.where}: {where}: every weight is 0: the expression is nothing")
        return ExprKeyframe(tuple(terms))
    if kind == "prompt":
        seed = doc.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise InputError(f"{reader.where}: {where}.seed must be a whole number or null")
        return PromptKeyframe(reader.text(doc, "prompt", where), seed)
    if kind != "image":
        kinds = '"image" or "prompt"' if term else '"image", "prompt" or "expr"'
        raise InputError(f"{reader.where}: {where}.type must be {kinds}")
    path = _absolute(reader.path(doc, "path", where), base)
    return Keyframe(path, reader.opt_text(doc, "sha256"), reader.opt_text(doc, "prompt") or "")


def _diffusion_settings(raw: dict[str, Any], reader: _Reader) -> DiffusionSettings:
    if "diffusion" not in raw:
        return DiffusionSettings()
    doc = reader.mapping(raw, "diffusion", "settings")
    where = "settings.diffusion"
    guidance = doc.get("guidance")
    return DiffusionSettings(
        steps=reader.integer(doc, "steps", where),
        guidance=None if guidance is None else reader.number(doc, "guidance", where),
        strength=reader.number(doc, "strength", where),
        attn_steps=reader.number(doc, "attn_steps", where),
        pacing=reader.text(doc, "pacing", where),
        method=reader.opt_text(doc, "method") or "inner",  # absent in projects saved before --method
    )


def _model_record(
    data: dict[str, Any], reader: _Reader, where: str
) -> tuple[tuple[ModelFile, ...], int | None]:
    """The optional record of the model used; absent in older projects."""
    files = tuple(
        ModelFile(
            reader.text(f, "role", f"model_files[{i}]"),
            reader.text(f, "name", f"model_files[{i}]"),
            reader.text(f, "format", f"model_files[{i}]"),
            reader.integer(f, "size", f"model_files[{i}]"),
            reader.text(f, "sha256", f"model_files[{i}]"),
        )
        for i, f in enumerate(reader.array(data, "model_files", "") if "model_files" in data else [])
    )
    channels = data.get("model_latent_channels")
    if channels is not None and (not isinstance(channels, int) or isinstance(channels, bool) or channels < 1):
        raise InputError(f"{where}: model_latent_channels must be a positive whole number or null")
    return files, channels


def with_hashes(project: Project) -> Project:
    """The project with every keyframe's current content hash filled in."""
    return replace(project, keyframes=tuple(_with_hash(k) for k in project.keyframes))


def _with_hash(keyframe: AnyKeyframe) -> AnyKeyframe:
    if isinstance(keyframe, ExprKeyframe):
        terms = tuple(replace(term, source=_source_with_hash(term.source)) for term in keyframe.terms)
        return ExprKeyframe(terms)
    return _source_with_hash(keyframe)


def _source_with_hash(source: Keyframe | PromptKeyframe) -> Keyframe | PromptKeyframe:
    if isinstance(source, Keyframe):
        return replace(source, sha256=file_sha256(source.path))
    return source


class _Reader:
    """Typed field access that turns a malformed document into one clear InputError."""

    def __init__(self, where: str) -> None:
        self.where = where

    def _get(self, obj: Any, key: str, parent: str, types: tuple[type, ...], what: str) -> Any:
        name = f"{parent}.{key}" if parent else key
        if not isinstance(obj, dict) or key not in obj:
            raise InputError(f"{self.where}: missing {name}")
        value = obj[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise InputError(f"{self.where}: {name} must be {what}")
        return value

    def text(self, obj: Any, key: str, parent: str) -> str:
        return self._get(obj, key, parent, (str,), "text")

    def path(self, obj: Any, key: str, parent: str) -> str:
        value = self.text(obj, key, parent)
        if not value or "\0" in value:  # the OS refuses NUL in file names (Python: ValueError)
            raise InputError(f"{self.where}: {parent}.{key} must be a file name")
        return value

    def opt_text(self, obj: Any, key: str) -> str | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        return value if isinstance(value, str) else None

    def integer(self, obj: Any, key: str, parent: str) -> int:
        return self._get(obj, key, parent, (int,), "a whole number")

    def number(self, obj: Any, key: str, parent: str) -> float:
        value = self._get(obj, key, parent, (int, float), "a number")
        try:
            return float(value)
        except OverflowError:  # a whole number with hundreds of digits
            raise InputError(f"{self.where}: {parent}.{key} is out of range") from None

    def array(self, obj: Any, key: str, parent: str) -> list[Any]:
        return self._get(obj, key, parent, (list,), "a list")

    def mapping(self, obj: Any, key: str, parent: str) -> dict[str, Any]:
        return self._get(obj, key, parent, (dict,), "an object")


def _relative(path: Path, base: Path) -> str:
    absolute = path.resolve()
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return str(absolute)


def _absolute(text: str, base: Path) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else base / path


_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6})")


def _parse_hex(text: str, where: str) -> tuple[int, int, int]:
    # A strict pattern: int(..., 16) alone takes "-1", "+f" and " f" as hex digits.
    match = _HEX_COLOR.fullmatch(text.strip())
    if match is None:
        raise InputError(f"{where}: settings.background must be a colour like #ffffff")
    value = match.group(1)
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
