"""Guarantee 8: fuzzing the image loader and the project parser.

Each must either succeed (a correctly sized image; a project that validates and plans within
the limits) or raise ``InputError``: never another exception, never a hang. Inputs that once
broke this are kept in tests/data/fuzz_corpus/ and replayed on every run.

The hypothesis runs are bounded (a few hundred examples, no deadline) to keep the suite fast;
``MORPHAPP_FUZZ_EXAMPLES=5000 pytest tests/reliability/test_fuzz.py`` fuzzes for longer.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from morphapp.core.domain.project import Project, load_project, project_from_dict
from morphapp.core.imaging import pixel_limit
from morphapp.core.imaging.file_hash import file_sha256
from morphapp.core.imaging.load import load_image
from morphapp.core.render.frames import plan_for
from morphapp.core.timeline.plan import MAX_FRAMES, SegmentSpec, count_frames, plan_frames
from morphapp.errors import InputError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "fuzz_corpus"
EXAMPLES = int(os.environ.get("MORPHAPP_FUZZ_EXAMPLES", "250"))
TARGET = (24, 16)
HANG_S = 10  # far above any load of these tiny files


@contextlib.contextmanager
def _no_hang(seconds: int = HANG_S) -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):  # Windows: no alarm; pytest's own timeout is the guard
        yield
        return

    def alarm(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"no result after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- image loader


def _encoded(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _seed_images() -> dict[str, bytes]:
    """Small real files of every format and many modes: the starting points of mutation."""
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    frames = [rgb.rotate(90 * i) for i in range(3)]
    exif = Image.Exif()
    exif[0x0112] = 6
    seeds = {
        "rgb.png": _encoded(rgb, "PNG"),
        "rgba.png": _encoded(rgb.convert("RGBA"), "PNG"),
        "palette.png": _encoded(rgb.convert("P"), "PNG", transparency=3),
        "grey16.png": _encoded(rgb.convert("I;16"), "PNG"),
        "anim.png": _encoded(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "photo.jpg": _encoded(rgb, "JPEG", quality=85, exif=exif),
        "progressive.jpg": _encoded(rgb, "JPEG", progressive=True),
        "cmyk.jpg": _encoded(rgb.convert("CMYK"), "JPEG"),
        "anim.gif": _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "lossy.webp": _encoded(rgb, "WEBP", quality=80),
        "anim.webp": _encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True),
        "rgb.bmp": _encoded(rgb, "BMP"),
        "rle.bmp": _encoded(rgb.convert("P"), "BMP"),
        "lzw.tif": _encoded(rgb, "TIFF", compression="tiff_lzw"),
        "pages.tif": _encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "float.tif": _encoded(rgb.convert("F"), "TIFF"),
    }
    return seeds


SEED_IMAGES = _seed_images()
INTERESTING_INTS = [0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]

_positions = st.integers(0, 1 << 20)
image_mutation = st.one_of(
    st.tuples(st.just("set"), _positions, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _positions),
    st.tuples(st.just("insert"), _positions, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _positions, st.integers(1, 32)),
    st.tuples(st.just("int32be"), _positions, st.sampled_from(INTERESTING_INTS)),
    st.tuples(st.just("int16le"), _positions, st.sampled_from(INTERESTING_INTS)),
    st.tuples(st.just("copy"), _positions, _positions, st.integers(1, 64)),
)


def mutate(data: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    buf = bytearray(data)
    for op, *args in mutations:
        at = args[0] % (len(buf) + 1)
        if op == "set" and buf:
            buf[at % len(buf)] = args[1]
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = args[1]
        elif op == "delete":
            del buf[at : at + args[1]]
        elif op == "int32be":
            buf[at : at + 4] = (args[1] & 0xFFFFFFFF).to_bytes(4, "big")
        elif op == "int16le":
            buf[at : at + 2] = (args[1] & 0xFFFF).to_bytes(2, "little")
        elif op == "copy" and buf:
            start = args[1] % len(buf)
            buf[at:at] = buf[start : start + args[2]]
    return bytes(buf)


def check_image_file(path: Path) -> None:
    """The loader's contract on one file: a correct image or InputError; no warnings escape."""
    with _no_hang(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            loaded = load_image(path, TARGET)
        except InputError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            assert loaded.pixels.shape == (TARGET[1], TARGET[0], 3) and loaded.pixels.dtype == np.uint8
            assert all(isinstance(note, str) for note in loaded.notes)
    assert not caught, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SEED_IMAGES)), mutations=st.lists(image_mutation, min_size=1, max_size=6))
def test_image_loader_on_mutated_files(fuzz_dir: Path, name: str, mutations: list[tuple[Any, ...]]) -> None:
    path = fuzz_dir / f"case{Path(name).suffix}"
    path.write_bytes(mutate(SEED_IMAGES[name], mutations))
    # A mutated header can claim up to 256 MP; decoding that is legitimate but slow, so the
    # limit is lowered here (it is honoured the same way; see test_images.py).
    with mock.patch.object(pixel_limit, "MAX_IMAGE_PIXELS", 4_000_000):
        check_image_file(path)


def test_seed_images_are_valid(fuzz_dir: Path) -> None:
    for name, data in SEED_IMAGES.items():
        path = fuzz_dir / name
        path.write_bytes(data)
        assert load_image(path, TARGET).pixels.shape == (TARGET[1], TARGET[0], 3), name


# --------------------------------------------------------------------------- project parser

GOOD_PROJECT: dict[str, Any] = {
    "format": "morphapp.project",
    "version": 1,
    "keyframes": [
        {"type": "image", "path": "img/a.png", "sha256": "0" * 64},
        {"type": "image", "path": "img/b.png"},
    ],
    "model": "taef2",
    "settings": {
        "size": [64, 64], "fit": "crop", "background": "#ffffff", "path": "slerp", "hold": 0,
        "loop": "none", "fps": 24.0, "seed": 0, "segments": [{"steps": 24, "ease": "linear"}],
    },
}  # fmt: skip

# Boundary values of every kind: each field is tried with wrong types and extreme values.
BOUNDARY: list[Any] = [
    None, True, False, 0, -1, 1, 7, 2**31, 2**63, 10**12, 10**400, -(10**400), 0.5, -0.0, math.nan, math.inf,
    -math.inf, 1e308, "", "\x00", "a\x00.png", "#-1-1-1", "# f f f", "#fff", "#GGGGGG", "pingpong", "lerp",
    "cubic-bezier(2,0,0,1)", "cubic-bezier(0,nan,1,1)", "cubic-bezier(0,1e308,1,-1e308)", "/dev/zero",
    "~nobody/x", "..", "a" * 300, [], [8, 8], [10**9, 8], [8.0, 8], {}, {"steps": 3}, [[[[[]]]]],
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Two parts boundary values, one part anything JSON can hold.
field_values = st.one_of(st.sampled_from(BOUNDARY), st.sampled_from(BOUNDARY), json_values)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


def _container(doc: Any, path: tuple[Any, ...], *, leaf: bool = False) -> Any:
    """The dict or list at ``path`` in ``doc`` (any value if ``leaf``), None if the path is gone."""
    for key in path:
        if (isinstance(doc, dict) and isinstance(key, str) and key in doc) or (
            isinstance(doc, list) and isinstance(key, int) and key < len(doc)
        ):
            doc = doc[key]
        else:
            return None
    return doc if leaf or isinstance(doc, (dict, list)) else None


def check_project(project: Project, base: Path) -> None:
    """What a parsed project must be: valid settings, a plan within limits, usable paths."""
    project.settings.validate()
    try:
        plan = plan_for(project.settings, len(project.keyframes))
    except InputError:
        pass  # e.g. segment count and keyframe count disagree: a clear error at render time
    else:
        assert len(plan) <= MAX_FRAMES
    for keyframe in project.keyframes:
        assert keyframe.path.is_absolute() or keyframe.path.is_relative_to(base)
        with contextlib.suppress(InputError):
            file_sha256(keyframe.path)


def check_project_data(data: Any, base: Path) -> None:
    with _no_hang():
        try:
            project = project_from_dict(data, base, "fuzz.json")
        except InputError as exc:
            assert "\n" not in str(exc)
        else:
            check_project(project, base)


def test_project_parser_boundary_sweep(fuzz_dir: Path) -> None:
    # Deterministic and exhaustive where random search is thin: every field of a valid project,
    # set to every boundary value in turn (and removed), ~1100 documents in well under a second.
    for path in list(_paths(GOOD_PROJECT))[1:]:
        for value in [*BOUNDARY, _REMOVE]:
            doc = copy.deepcopy(GOOD_PROJECT)
            parent = _container(doc, path[:-1])
            assert parent is not None
            if value is _REMOVE:
                if isinstance(parent, dict):
                    del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(value)
            check_project_data(doc, fuzz_dir)


_REMOVE = object()


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_project_parser_on_mutated_documents(fuzz_dir: Path, data: st.DataObject) -> None:
    # One or two fields of a valid project are replaced (by a boundary value or any JSON) or
    # removed. Few at a time: the parser stops at the first bad field, which would hide others.
    doc: Any = copy.deepcopy(GOOD_PROJECT)
    for _ in range(data.draw(st.integers(1, 2))):
        path = data.draw(st.sampled_from(list(_paths(doc))[1:] or [("format",)]))
        parent = _container(doc, path[:-1])
        if parent is None or _container(parent, path[-1:], leaf=True) is None:
            continue
        if isinstance(parent, dict) and data.draw(st.integers(0, 5)) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(data.draw(field_values))  # BOUNDARY lists are shared
    check_project_data(doc, fuzz_dir)


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(value=field_values)
def test_project_parser_on_arbitrary_json(fuzz_dir: Path, value: Any) -> None:
    check_project_data(value, fuzz_dir)
    check_project_data({**GOOD_PROJECT, "settings": value}, fuzz_dir)


def _check_project_file(path: Path) -> None:
    with _no_hang():
        try:
            project = load_project(path)
        except InputError as exc:
            assert "\n" not in str(exc)
        else:
            check_project(project, path.resolve().parent)


@settings(max_examples=EXAMPLES, deadline=None)
@given(mutations=st.lists(image_mutation, min_size=1, max_size=6))
def test_project_loader_on_mutated_bytes(fuzz_dir: Path, mutations: list[tuple[Any, ...]]) -> None:
    path = fuzz_dir / "fuzz.json"
    path.write_bytes(mutate(json.dumps(GOOD_PROJECT, indent=2).encode(), mutations))
    _check_project_file(path)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    n_keyframes=st.integers(2, 6),
    loop=st.sampled_from(["none", "loop", "pingpong"]),
    hold=st.integers(0, 4),
    steps=st.lists(st.integers(1, 6), min_size=6, max_size=6),
)
def test_frame_count_arithmetic_matches_the_plan(
    n_keyframes: int, loop: str, hold: int, steps: list[int]
) -> None:
    # count_frames guards MAX_FRAMES without building the plan; it must agree with it exactly.
    n_segments = n_keyframes - (1 if loop != "loop" else 0)
    segments = [SegmentSpec(s) for s in steps[:n_segments]]
    plan = plan_frames(n_keyframes, segments, loop=loop, hold=hold)
    assert count_frames([s.steps for s in segments], loop=loop, hold=hold) == len(plan)


# --------------------------------------------------------------------------- the corpus

CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_fuzz_corpus_replay(path: Path) -> None:
    assert path.stat().st_size < 8192  # small files only
    if path.suffix == ".json":
        _check_project_file(path)
    else:
        check_image_file(path)


def test_corpus_findings_are_refused_with_the_right_message() -> None:
    # The crashes and hangs the fuzzers found, and what each now says.
    expected = {
        "project_fps_huge_int.json": "settings.fps is out of range",
        "project_deep_nesting.json": "nested too deeply",
        "project_hold_huge.json": "--hold",
        "project_steps_huge.json": "segment 1: needs between 1 and 100000 frames",
        "project_size_huge.json": "each side must be at most 8192 pixels",
        "project_background_negative.json": "settings.background must be a colour",
        "project_nul_path.json": "keyframes[1].path must be a file name",
        "project_version_true.json": "version must be a positive whole number",
        "project_seed_huge.json": "--seed",
        "project_segment_ease_bogus.json": "unknown easing",
    }
    for name, message in expected.items():
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_project(CORPUS / name)
    assert load_project(CORPUS / "project_utf8_bom.json").settings.fps == 24  # a BOM is fine
    assert math.isfinite(load_project(CORPUS / "project_utf8_bom.json").settings.fps)
