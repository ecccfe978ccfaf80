"""Keyframes: the images (or, with a diffusion model, the text prompts) a morph passes through."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from morphapp.errors import InputError

MAX_PROMPT_CHARS = 2000  # CLIP reads 77 tokens; anything this long is a mistake, not a prompt
PROMPT_PREFIX = "prompt:"
EXPR_PREFIX = "expr:"


@dataclass(frozen=True)
class Keyframe:
    """An image keyframe, with an optional prompt that describes it (diffusion models only)."""

    path: Path
    sha256: str | None = None  # content hash recorded in a project; None until known
    prompt: str = ""  # conditions the diffusion model on this keyframe; "" = unconditional


@dataclass(frozen=True)
class PromptKeyframe:
    """A keyframe made by a diffusion model from a text prompt and the noise of a seed."""

    prompt: str
    seed: int | None = None  # None: the morph's seed plus the keyframe's index


@dataclass(frozen=True)
class ExprTerm:
    """One weighted term of an expression keyframe: ``0.5*a.png`` or ``- prompt:a man``."""

    weight: float
    source: Keyframe | PromptKeyframe


@dataclass(frozen=True)
class ExprKeyframe:
    """A keyframe computed from others: the weighted sum of its terms' latents (and, with a diffusion
    model, of their text conditionings and starting noise), e.g. ``a.png - b.png + c.png``."""

    terms: tuple[ExprTerm, ...]

    @property
    def prompt(self) -> str:  # the conditioning is the terms' own, not a prompt of the keyframe
        return ""

    @property
    def images(self) -> list[Keyframe]:
        return [term.source for term in self.terms if isinstance(term.source, Keyframe)]

    @property
    def has_prompts(self) -> bool:
        return any(isinstance(term.source, PromptKeyframe) for term in self.terms)

    def text(self, *, names: bool = False) -> str:
        """The expression as written after ``expr:`` (``names``: file names instead of paths)."""
        parts: list[str] = []
        for i, term in enumerate(self.terms):
            sign = "-" if term.weight < 0 else "+"
            size = abs(term.weight)
            short = f"{size:g}"  # 0.5, not 0.50000; but exact: 1/3 must read back as itself
            weight = "" if size == 1 else f"{short if float(short) == size else repr(size)}*"
            body = _term_text(term.source, names)
            parts.append(
                f"{'-' if sign == '-' else ''}{weight}{body}" if i == 0 else f"{sign} {weight}{body}"
            )
        return " ".join(parts)


def _term_text(source: Keyframe | PromptKeyframe, names: bool) -> str:
    if isinstance(source, PromptKeyframe):
        seed = "" if source.seed is None else f"[{source.seed}]"
        quoted = f'"{source.prompt}"' if _needs_quotes(source.prompt) else source.prompt
        return f"prompt{seed}:{quoted}"
    text = source.path.name if names else str(source.path)
    return f'"{text}"' if _needs_quotes(text) or _file_needs_quotes(text) else text


def _needs_quotes(text: str) -> bool:
    """Text the parser would split or misread: " + " / " - " inside, a leading quote."""
    return re.search(r"\s[+-](\s|$)", text) is not None or text.startswith('"') or text != text.strip()


def _file_needs_quotes(name: str) -> bool:
    """A file name that would read as something else: a sign, a weight, a prompt, an expression."""
    return name.startswith(("+", "-", "prompt", "expr:")) or "*" in name


AnyKeyframe = Keyframe | PromptKeyframe | ExprKeyframe


def check_keyframes(keyframes: Sequence[AnyKeyframe]) -> None:
    if len(keyframes) < 2:
        raise InputError(f"a morph needs at least two keyframes, got {len(keyframes)}")
    for keyframe in keyframes:
        sources = [t.source for t in keyframe.terms] if isinstance(keyframe, ExprKeyframe) else [keyframe]
        for source in sources:
            prompt = source.prompt
            if len(prompt) > MAX_PROMPT_CHARS:
                raise InputError(
                    f"a prompt of {len(prompt):,} characters: at most {MAX_PROMPT_CHARS} are allowed"
                )


def image_keyframes(keyframes: Sequence[AnyKeyframe], what: str) -> list[Keyframe]:
    """The keyframes as images, or a clear error when one is a prompt or an expression (``what``
    needs image files: an alignment, correspondence points)."""
    for i, keyframe in enumerate(keyframes):
        if isinstance(keyframe, PromptKeyframe):
            raise InputError(
                f"keyframe {i + 1} is a prompt ({keyframe.prompt!r}); {what} needs image keyframes"
            )
        if isinstance(keyframe, ExprKeyframe):
            raise InputError(
                f"keyframe {i + 1} is an expression (expr:{keyframe.text(names=True)}); {what} needs image "
                "keyframes"
            )
    return list(keyframes)  # type: ignore[arg-type]  # checked above


def latent_keyframes(keyframes: Sequence[AnyKeyframe], model_name: str) -> list[Keyframe | ExprKeyframe]:
    """The keyframes an autoencoder can morph (images, and expressions over images), or a clear error
    naming the first prompt."""
    for i, keyframe in enumerate(keyframes):
        prompts = [t.source for t in keyframe.terms] if isinstance(keyframe, ExprKeyframe) else [keyframe]
        prompt = next((p for p in prompts if isinstance(p, PromptKeyframe)), None)
        if prompt is not None:
            where = "is a prompt" if prompt is keyframe else "has a prompt term"
            raise InputError(
                f"keyframe {i + 1} {where} ({prompt.prompt!r}); {model_name} is an autoencoder and can "
                "only morph images: choose a Stable Diffusion model for prompt keyframes (--model, or Model "
                "in the window)"
            )
    return list(keyframes)  # type: ignore[arg-type]  # checked above


def image_files(keyframes: Sequence[AnyKeyframe]) -> list[Keyframe]:
    """Every image a morph reads: the image keyframes and the image terms of expressions."""
    out: list[Keyframe] = []
    for keyframe in keyframes:
        if isinstance(keyframe, Keyframe):
            out.append(keyframe)
        elif isinstance(keyframe, ExprKeyframe):
            out.extend(keyframe.images)
    return out


def describe_keyframe(keyframe: AnyKeyframe) -> str:
    if isinstance(keyframe, PromptKeyframe):
        return f"prompt {keyframe.prompt!r}"
    if isinstance(keyframe, ExprKeyframe):
        return f"expr {keyframe.text(names=True)}"
    return keyframe.path.name
