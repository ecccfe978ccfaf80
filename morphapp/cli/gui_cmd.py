"""``morphapp gui [PROJECT | IMAGE...]``: open the desktop app (also what plain ``morphapp`` does)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from morphapp.core.imaging.load import parse_size
from morphapp.errors import InputError


def add_parser(commands: Any) -> None:
    p = commands.add_parser("gui", help="open the desktop app (the default with no command)")
    p.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="a project file to open, or images to morph"
    )
    p.add_argument(
        "--screenshot", type=Path, metavar="PNG", help="render the preview, save a screenshot, exit"
    )
    p.add_argument("--window-size", metavar="WxH", help="window size, e.g. 1280x800 (for screenshots)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from morphapp.gui.app import run_gui
    except ImportError as exc:  # PySide6 missing or its system libraries absent
        raise InputError(_import_failure(exc)) from exc
    size = None
    if getattr(args, "window_size", None):
        (w, h), _ = parse_size(args.window_size)
        size = (w, h)
    return run_gui(list(getattr(args, "files", None) or []), getattr(args, "screenshot", None), size)


def _import_failure(exc: ImportError) -> str:
    """One line: a missing system library (with its Debian package), or PySide6 itself missing."""
    from morphapp.gui.platform_check import OFFSCREEN_HINT, install_hint, missing_library_in

    library = missing_library_in(exc)
    if library is not None:
        return (
            f"the desktop app cannot start: Qt needs the system library {library}, which is missing. "
            f"Install {install_hint([library])}; or use morphapp render"
        )
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"the desktop app cannot start: {first}. Install it with pip install PySide6-Essentials, "
        f"or use morphapp render ({OFFSCREEN_HINT.removeprefix('or ')} once it is installed)"
    )
