"""Expression keyframes: ``expr:a.png - b.png + c.png``, ``expr:0.5*a.png + 0.5*b.png``,
``expr:prompt:a king - prompt:a man + prompt:a woman``.

The grammar is small on purpose: terms joined by ``+`` or ``-`` written with spaces on both sides
(so ``my-photo.png`` stays one file name), each an optional weight ``NUMBER*`` and an operand —
an image path, ``prompt:TEXT`` or ``prompt[SEED]:TEXT``. An operand that must hold " + " or " - "
is written in double quotes (``prompt:"a cat - sitting"``). Errors name the character where the
expression went wrong, counted in the text as given (``expr:`` included).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from morphapp.core.domain.keyframes import ExprKeyframe, ExprTerm, Keyframe, PromptKeyframe
from morphapp.errors import InputError

MAX_TERMS = 16  # each term is an encode (or an inversion): more is a typo, not an expression
_WEIGHT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\*\s*")
_SEPARATOR = re.compile(r"\s+([+-])(?=\s|$)")
_PROMPT = re.compile(r"prompt(?:\[(-?\d+)\])?:")


class _Scanner:
    def __init__(self, text: str, start: int) -> None:
        self.text, self.pos = text, start

    def fail(self, what: str, at: int | None = None) -> InputError:
        where = self.pos if at is None else at
        return InputError(f"{self.text!r}: at character {where + 1}: {what}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def sign(self) -> float:
        """Leading signs of a term (``-a.png``, ``+ -b.png``): their product."""
        sign = 1.0
        while not self.at_end() and self.text[self.pos] in "+-":
            if self.text[self.pos] == "-":
                sign = -sign
            self.pos += 1
            self.skip_space()
        return sign

    def weight(self) -> float:
        match = _WEIGHT.match(self.text, self.pos)
        if match is None:
            # A '*' in an unquoted file name reads as a mistyped weight; prompts and quoted names
            # may hold one.
            rest = self.text[self.pos : self._operand_end(self.pos)]
            if "*" in rest and not rest.startswith('"') and _PROMPT.match(rest) is None:
                raise self.fail(
                    "a weight is a number before '*', e.g. 0.5*a.png (quote a file name that holds '*')",
                    at=self.pos + rest.index("*"),
                )
            return 1.0
        number = match.group(0).split("*")[0].strip()
        value = float(number)
        if not math.isfinite(value):
            raise self.fail(f"the weight {number} is too large")
        self.pos = match.end()
        return value

    def operand(self) -> tuple[str, int]:
        """The operand's text (quotes removed) and where it started."""
        begin = self.pos
        if self.at_end():
            raise self.fail("a term is missing here (an image path or prompt:TEXT)")
        if self.text[self.pos] == '"':
            close = self.text.find('"', self.pos + 1)
            if close < 0:
                raise self.fail("this quote is never closed")
            self.pos = close + 1
            return self.text[begin + 1 : close], begin
        end = self._operand_end(self.pos)
        self.pos = end
        return self.text[begin:end].rstrip(), begin

    def _operand_end(self, pos: int) -> int:
        match = _SEPARATOR.search(self.text, pos)
        return len(self.text) if match is None else match.start()


def parse_expression(text: str, *, start: int = 0) -> ExprKeyframe:
    """The expression in ``text[start:]`` (``start`` skips a prefix such as ``expr:``)."""
    scan = _Scanner(text, start)
    terms: list[ExprTerm] = []
    sign = 1.0
    while True:
        scan.skip_space()
        sign *= scan.sign()
        weight = sign * scan.weight()
        terms.append(ExprTerm(weight, _source(scan)))
        if len(terms) > MAX_TERMS:
            raise scan.fail(f"more than {MAX_TERMS} terms")
        match = _SEPARATOR.match(scan.text, scan.pos)
        if match is None:
            scan.skip_space()
            if scan.at_end():
                break
            raise scan.fail(f"expected ' + ' or ' - ' here, found {scan.text[scan.pos]!r}")
        sign = -1.0 if match.group(1) == "-" else 1.0
        scan.pos = match.end()
        scan.skip_space()
        if scan.at_end():
            raise scan.fail(f"a term is missing after {match.group(1)!r}", at=match.start(1))
    if all(term.weight == 0 for term in terms):
        raise InputError(f"{text!r}: every weight is 0: the expression is nothing")
    return ExprKeyframe(tuple(terms))


def _source(scan: _Scanner) -> Keyframe | PromptKeyframe:
    prompt = _PROMPT.match(scan.text, scan.pos)
    if prompt is None:
        path, begin = scan.operand()
        if not path:
            raise scan.fail("an empty file name", at=begin)
        if path.startswith("expr:") and scan.text[begin] != '"':  # a quoted name is just a name
            raise scan.fail("expressions do not nest", at=begin)
        return Keyframe(Path(path))
    scan.pos = prompt.end()
    body, begin = scan.operand()
    if not body.strip():
        raise scan.fail("a prompt term needs text after 'prompt:'", at=begin)
    seed = None if prompt.group(1) is None else int(prompt.group(1))
    return PromptKeyframe(body.strip(), seed)
