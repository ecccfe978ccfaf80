"""Keyframes: the images (or, with a diffusion model, the text prompts) a morph passes through."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from morphapp.errors import InputError

MAX_PROMPT_CHARS = 2000  # CLIP reads 77 tokens; anything this long is a mistake, not a prompt
PROMPT_PREFIX = "prompt:"
_SEEDED_PROMPT = re.compile(r"prompt\[(-?\d+)\]:(.*)", re.DOTALL)


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


AnyKeyframe = Keyframe | PromptKeyframe


def check_keyframes(keyframes: Sequence[AnyKeyframe]) -> None:
    if len(keyframes) < 2:
        raise InputError(f"a morph needs at least two keyframes, got {len(keyframes)}")
    for keyframe in keyframes:
        prompt = keyframe.prompt
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InputError(
                f"a prompt of {len(prompt):,} characters: at most {MAX_PROMPT_CHARS} are allowed"
            )


def image_keyframes(keyframes: Sequence[AnyKeyframe], model_name: str) -> list[Keyframe]:
    """The keyframes as images, or a clear error when one is a prompt (autoencoders need images)."""
    for i, keyframe in enumerate(keyframes):
        if isinstance(keyframe, PromptKeyframe):
            raise InputError(
                f"keyframe {i + 1} is a prompt ({keyframe.prompt!r}); {model_name} is an autoencoder and can "
                "only morph images: choose a Stable Diffusion model for prompt keyframes (--model, or Model "
                "in the window)"
            )
    return list(keyframes)  # type: ignore[arg-type]  # checked above


def parse_keyframe_arg(text: str) -> AnyKeyframe:
    """A command-line keyframe: an image path, ``prompt:TEXT`` or ``prompt[SEED]:TEXT``."""
    seeded = _SEEDED_PROMPT.fullmatch(text)
    if seeded is not None:
        return _prompt(seeded.group(2), int(seeded.group(1)), text)
    if text.startswith(PROMPT_PREFIX):
        return _prompt(text[len(PROMPT_PREFIX) :], None, text)
    return Keyframe(Path(text))


def _prompt(prompt: str, seed: int | None, given: str) -> PromptKeyframe:
    prompt = prompt.strip()
    if not prompt:
        raise InputError(f"{given!r}: a prompt keyframe needs text after 'prompt:'")
    return PromptKeyframe(prompt, seed)


def describe_keyframe(keyframe: AnyKeyframe) -> str:
    if isinstance(keyframe, PromptKeyframe):
        return f"prompt {keyframe.prompt!r}"
    return keyframe.path.name
