"""A keyframe given as text on the command line: an image path, a prompt or an expression."""

from __future__ import annotations

import re
from pathlib import Path

from morphapp.core.domain.keyframe_expr import parse_expression
from morphapp.core.domain.keyframes import EXPR_PREFIX, PROMPT_PREFIX, AnyKeyframe, Keyframe, PromptKeyframe
from morphapp.errors import InputError

_SEEDED_PROMPT = re.compile(r"prompt\[(-?\d+)\]:(.*)", re.DOTALL)


def parse_keyframe_arg(text: str) -> AnyKeyframe:
    """A command-line keyframe: an image path, ``prompt:TEXT``, ``prompt[SEED]:TEXT`` or
    ``expr:EXPRESSION`` (see ``keyframe_expr``)."""
    if text.startswith(EXPR_PREFIX):
        return parse_expression(text, start=len(EXPR_PREFIX))
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
