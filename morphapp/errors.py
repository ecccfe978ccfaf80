"""User-facing errors of the engine.

Every error an artist can cause (a bad image, a missing model, an unwritable path) is a
``MorphError`` with a message that says what is wrong, with which file, and what to do.
The CLI prints the message on one line and exits 2; the GUI shows it in a dialog.
Anything else escaping the engine is a bug.
"""

from __future__ import annotations

import sys


class MorphError(Exception):
    """Base of all errors caused by the user's input or environment."""


class InputError(MorphError):
    """A keyframe, project file or option is unusable."""


class ModelError(MorphError):
    """A model is missing, unreadable or of an unknown kind."""


class OutputError(MorphError):
    """The output cannot be written (permissions, disk full, path is a folder...)."""


class Cancelled(MorphError):
    """The job was cancelled by the user; nothing was written."""


BUNDLE_NOTE = (
    "; this app bundle leaves that feature out: install morphapp with pip (see its README) to use it"
)


def as_installed(message: str) -> str:
    """``message`` as it should read in this install: a desktop bundle (PyInstaller sets
    ``sys.frozen``) has no pip, so advice to ``pip install`` an extra gets what to do instead."""
    if getattr(sys, "frozen", False) and "pip install" in message:
        return message + BUNDLE_NOTE
    return message
