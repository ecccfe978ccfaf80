"""The ``morphapp`` command: a thin face on the engine.

Exit codes: 0 success; 2 bad input, missing model or unwritable output (one line on stderr,
nothing written); 130 interrupted (nothing written); 1 an internal error (a bug).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from morphapp import __version__
from morphapp.cli import gui_cmd, models_cmd, render_cmd
from morphapp.errors import Cancelled, MorphError, as_installed

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (``--frame 10`` must not quietly mean ``--frames``); every
    subcommand's parser is one too, and remembers itself so that its own usage reports its errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.set_defaults(_parser=self)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="morphapp",
        description="Morph between images through the latent space of diffusion models.",
    )
    parser.add_argument("--version", action="version", version=f"morphapp {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    render_cmd.add_parser(commands)
    models_cmd.add_parser(commands)
    gui_cmd.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Known args first: an unknown option is then reported by the subcommand it was given to,
    # with that subcommand's usage (argparse itself would show the top-level usage).
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args._parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:  # plain `morphapp` opens the desktop app
        args = parser.parse_args(["gui"])
    try:
        return int(args.run(args))
    except Cancelled:
        print("morphapp: cancelled; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\nmorphapp: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MorphError as exc:
        print(f"morphapp: error: {as_installed(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"morphapp: internal error: {type(exc).__name__}: {exc} (this is a bug; rerun with --debug "
            "for details)",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":
    raise SystemExit(main())
