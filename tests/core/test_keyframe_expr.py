"""Expression keyframes (latent arithmetic): parsing, errors, autoencoder renders, projects, the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from morphapp.cli.main import main
from morphapp.core.domain.keyframe_args import parse_keyframe_arg
from morphapp.core.domain.keyframe_expr import parse_expression
from morphapp.core.domain.keyframes import (
    ExprKeyframe,
    ExprTerm,
    Keyframe,
    PromptKeyframe,
    image_files,
)
from morphapp.core.domain.project import Project, load_project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.render.frames import encode_keyframes, render_frames
from morphapp.core.render.latent_cache import LatentCache
from morphapp.engine.autoencoder import AutoencoderEngine
from morphapp.errors import InputError
from morphapp.models.tae_codec import TaeCodec

SIZE = (64, 48)


def expr(text: str) -> ExprKeyframe:
    keyframe = parse_keyframe_arg(text)
    assert isinstance(keyframe, ExprKeyframe)
    return keyframe


# --- parsing -------------------------------------------------------------------------------------
def test_terms_weights_and_signs() -> None:
    k = expr("expr:a.png - b-c.png + 0.5*d.png - 2 * e.png")
    assert [t.weight for t in k.terms] == [1.0, -1.0, 0.5, -2.0]
    assert [image.path.name for image in k.images] == ["a.png", "b-c.png", "d.png", "e.png"]
    assert k.text() == "a.png - b-c.png + 0.5*d.png - 2*e.png"


def test_prompt_terms_seeds_and_quotes() -> None:
    k = expr('expr:prompt:a king - prompt[7]:a man + prompt:"a woman - smiling"')
    assert [t.source for t in k.terms] == [
        PromptKeyframe("a king"), PromptKeyframe("a man", 7), PromptKeyframe("a woman - smiling")
    ]  # fmt: skip
    assert [t.weight for t in k.terms] == [1.0, -1.0, 1.0]
    assert k.has_prompts and not k.images


@pytest.mark.parametrize(
    "text",
    [
        "expr:a.png - b.png + c.png",
        'expr:-0.25*a.png + prompt[3]:"x - y" + 1.25*"my + file.png"',
        "expr:a.png",
    ],
)
def test_text_parses_back_to_the_same_keyframe(text: str) -> None:
    k = expr(text)
    assert expr("expr:" + k.text()) == k


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expr:a.png +", "at character 12: a term is missing after '+'"),
        ("expr:", "at character 6: a term is missing here"),
        ("expr:x*a.png", "at character 7: a weight is a number before '*'"),
        ('expr:a.png - "b.png', "at character 14: this quote is never closed"),
        ("expr:a.png + expr:b.png", "at character 14: expressions do not nest"),
        ("expr:a.png + prompt: ", "a prompt term needs text after 'prompt:'"),
        ('expr:"a.png" b.png', "at character 14: expected ' + ' or ' - ' here, found 'b'"),
        ("expr:0*a.png - 0*b.png", "every weight is 0"),
        ("expr:1e999*a.png", "the weight 1e999 is too large"),
    ],
)
def test_bad_expressions_name_the_position(text: str, message: str) -> None:
    with pytest.raises(InputError, match="^" + repr(text).replace("*", r"\*").replace("+", r"\+")) as err:
        parse_expression(text, start=5)
    assert message in str(err.value)


# --- autoencoder renders ---------------------------------------------------------------------------
@pytest.fixture
def abc(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / n) for n in ("cat.png", "dog.png", "lion.png")]


def test_the_latent_is_the_weighted_sum_of_the_terms_latents(taef2: TaeCodec, abc: list[Keyframe]) -> None:
    settings = MorphSettings(size=SIZE)
    a, b, c = (encode_keyframes([k], taef2, settings)[0] for k in abc)
    k = ExprKeyframe((ExprTerm(1.0, abc[0]), ExprTerm(-1.0, abc[1]), ExprTerm(0.5, abc[2])))
    latent = encode_keyframes([k], taef2, settings)[0]
    torch.testing.assert_close(latent, a - b + 0.5 * c, rtol=0, atol=1e-6)


def test_expression_keyframe_frames(taef2: TaeCodec, abc: list[Keyframe]) -> None:
    cat, dog, _ = abc
    half = ExprKeyframe((ExprTerm(0.5, cat), ExprTerm(0.5, dog)))
    settings = MorphSettings(size=SIZE, segment_frames=(2,), path="lerp")
    # A lerp morph's midpoint decodes 0.5 cat + 0.5 dog: the expression keyframe shows that picture.
    morph = [f.pixels for f in render_frames([cat, dog], taef2, settings)]
    with_expr = [f.pixels for f in render_frames([half, dog], taef2, settings)]
    np.testing.assert_array_equal(with_expr[0], morph[1])
    # A one-term expression of weight 1 is the image itself, byte for byte.
    same = [f.pixels for f in render_frames([ExprKeyframe((ExprTerm(1.0, cat),)), dog], taef2, settings)]
    np.testing.assert_array_equal(same[0], morph[0])
    # a - b + c is a picture of its own: not any of its terms.
    arith = ExprKeyframe((ExprTerm(1.0, abc[0]), ExprTerm(-1.0, abc[1]), ExprTerm(1.0, abc[2])))
    first = next(iter(render_frames([arith, dog], taef2, settings))).pixels
    assert all(np.abs(first.astype(int) - m.astype(int)).mean() > 5 for m in morph)


def test_term_latents_are_cached_and_shared(taef2: TaeCodec, abc: list[Keyframe]) -> None:
    cache = LatentCache()
    engine = AutoencoderEngine(taef2, cache=cache)
    k = ExprKeyframe((ExprTerm(1.0, abc[0]), ExprTerm(-1.0, abc[1]), ExprTerm(1.0, abc[2])))
    settings = MorphSettings(size=SIZE, segment_frames=(2,))
    state = engine.shared_state([k, abc[1]], settings)
    assert len(state) == 3  # cat, dog, lion: the dog once although two keyframes read it
    list(engine.frames([k, abc[1]], settings))
    assert cache.misses == 3  # nothing encoded twice


def test_points_on_an_expression_segment_are_refused(taef2: TaeCodec, abc: list[Keyframe]) -> None:
    k = ExprKeyframe((ExprTerm(1.0, abc[0]),))
    settings = MorphSettings(size=SIZE, segment_frames=(2,), points=((((0.5, 0.5), (0.5, 0.5)),),))
    with pytest.raises(InputError, match="keyframe 1 is an expression: points and alignment need image"):
        list(render_frames([k, abc[1]], taef2, settings))


# --- projects ------------------------------------------------------------------------------------
def test_projects_store_expressions(tmp_path: Path, abc: list[Keyframe]) -> None:
    local = tmp_path / "pics"
    local.mkdir()
    for k in abc:
        (local / k.path.name).write_bytes(k.path.read_bytes())
    k = expr(f"expr:{local / 'cat.png'} - 0.5*{local / 'dog.png'} + prompt[3]:a lion")
    project = Project((k, Keyframe(local / "lion.png")), MorphSettings(size=SIZE))
    save_project(project, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    stored = doc["keyframes"][0]
    assert stored["type"] == "expr" and stored["expr"] == "cat.png - 0.5*dog.png + prompt[3]:a lion"
    assert stored["terms"][0]["path"] == "pics/cat.png" and len(stored["terms"][0]["sha256"]) == 64
    assert [t["weight"] for t in stored["terms"]] == [1.0, -0.5, 1.0]
    loaded = load_project(tmp_path / "p.json").keyframes[0]
    assert isinstance(loaded, ExprKeyframe)
    assert [(t.weight, getattr(t.source, "path", None)) for t in loaded.terms][:2] == [
        (1.0, local / "cat.png"), (-0.5, local / "dog.png")
    ]  # fmt: skip
    assert loaded.terms[2].source == PromptKeyframe("a lion", 3)
    assert [k.path.name for k in image_files(load_project(tmp_path / "p.json").keyframes)] == [
        "cat.png", "dog.png", "lion.png"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ({"type": "expr", "terms": []}, 'keyframes[0].terms[0].type must be "image" or "prompt"'),
        ({"type": "image", "path": "a.png"}, "keyframes[0].terms[0].weight"),
        ({"weight": float("inf"), "type": "prompt", "prompt": "x", "seed": None}, "must be a finite number"),
        ({"weight": 0, "type": "prompt", "prompt": "x", "seed": None}, "every weight is 0"),
    ],
)
def test_bad_stored_expressions_are_one_clear_error(tmp_path: Path, term: dict, message: str) -> None:
    prompts = Project((PromptKeyframe("x"), PromptKeyframe("y")), MorphSettings(size=SIZE))
    save_project(prompts, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["keyframes"][0] = {"type": "expr", "terms": [term]}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="p.json") as err:
        load_project(tmp_path / "p.json")
    assert message in str(err.value)


# --- the CLI -------------------------------------------------------------------------------------
def run_cli(*args: str | Path) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


@pytest.fixture
def _models(model_path_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)


@pytest.mark.usefixtures("_models")
def test_cli_renders_an_expression_keyframe(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.gif"
    arith = f"expr:{pairs_dir / 'cat.png'} - {pairs_dir / 'dog.png'} + {pairs_dir / 'lion.png'}"
    code, err = run_cli("render", pairs_dir / "dog.png", arith, "-o", out, "--frames", "5",
                        "--size", "64x48", "--save-project", tmp_path / "p.json", "--quiet")  # fmt: skip
    assert code == 0, err
    with Image.open(out) as im:
        assert im.n_frames == 5
    kept = load_project(tmp_path / "p.json").keyframes[1]
    assert isinstance(kept, ExprKeyframe) and len(kept.terms) == 3
    # The project renders again with the expression, to the same frames.
    again = tmp_path / "again.gif"
    code, err = run_cli("render", tmp_path / "p.json", "-o", again, "--quiet")
    assert code == 0, err
    with Image.open(out) as a, Image.open(again) as b:
        a.seek(4)
        b.seek(4)
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


@pytest.mark.usefixtures("_models")
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("expr:{d}/cat.png - {d}/nothing.png", "nothing.png: file not found"),
        ("expr:{d}/cat.png + prompt:a dog", "keyframe 2 has a prompt term ('a dog'); taef2 is an"),
        ("expr:{d}/cat.png +", "at character"),
    ],
)
def test_cli_errors(pairs_dir: Path, tmp_path: Path, extra: str, message: str) -> None:
    out = tmp_path / "m.gif"
    code, err = run_cli("render", pairs_dir / "dog.png", extra.format(d=pairs_dir), "-o", out, "--quiet")
    assert code == 2 and message in err, err
    assert not out.exists()


@pytest.mark.usefixtures("_models")
def test_cli_align_needs_image_keyframes(pairs_dir: Path, tmp_path: Path) -> None:
    code, err = run_cli("render", pairs_dir / "dog.png", f"expr:{pairs_dir / 'cat.png'}",
                        "-o", tmp_path / "m.gif", "--align", "auto", "--quiet")  # fmt: skip
    assert code == 2
    assert "keyframe 2 is an expression (expr:cat.png); --align auto needs image keyframes" in err


def test_settings_are_untouched(abc: list[Keyframe]) -> None:
    # an ExprKeyframe is hashable (diffusion keyframe states are keyed by the keyframes)
    k = ExprKeyframe((ExprTerm(1.0, abc[0]),))
    assert hash(k) == hash(dataclasses.replace(k))


@pytest.mark.parametrize(
    "terms",
    [
        ((1 / 3, Keyframe(Path("-dark.png"))), (-2 / 3, Keyframe(Path("we*ird.png")))),
        ((1.0, PromptKeyframe("a *bold* cat")), (0.5, Keyframe(Path("prompt-like.png")))),
        (
            (2.0, Keyframe(Path("0.5*x.png"))),
            (-1.0, Keyframe(Path("expr:odd.png"))),
            (1.0, Keyframe(Path(" a.png"))),
        ),
    ],
)
def test_any_expression_written_out_reads_back_exactly(terms: tuple) -> None:
    keyframe = ExprKeyframe(tuple(ExprTerm(w, s) for w, s in terms))
    assert expr("expr:" + keyframe.text()) == keyframe  # weights to the last bit, names as they are


def test_a_star_in_a_prompt_or_a_quoted_name_is_no_weight() -> None:
    k = expr('expr:prompt:a *bold* cat + "we*ird.png"')
    assert k.terms[0].source == PromptKeyframe("a *bold* cat") and k.images[0].path == Path("we*ird.png")
    with pytest.raises(InputError, match=r"at character 16: a weight is a number before '\*'"):
        parse_expression("expr:a.png + we*ird.png", start=5)  # the position of the '*'
