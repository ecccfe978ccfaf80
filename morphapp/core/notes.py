"""How the engine says what it did: a note is one line of plain words, handed to a ``NoteFn``.

The CLI prints notes on stderr, the window shows them in its status bar and dialogs (in its own
words, ``gui/wording.py``), tests collect them in a list.
"""

from __future__ import annotations

from collections.abc import Callable

NoteFn = Callable[[str], None]
