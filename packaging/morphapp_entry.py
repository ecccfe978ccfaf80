"""PyInstaller's entry point: the bundle's ``morphapp`` executable is the window and the CLI.

It is the ``morphapp`` console script (``morphapp.cli.main:main``) as a plain file, because
PyInstaller freezes a script, not an entry point. ``freeze_support`` first: a frozen program
re-executes itself for ``multiprocessing`` children (torch and the standard library can start
them), and without it such a child would run ``main`` again.
"""

from __future__ import annotations

import multiprocessing

from morphapp.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
