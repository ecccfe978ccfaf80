"""Keeping Pillow's warnings about damaged files off stderr while images load, thread-safely.

Pillow reports damaged metadata (EXIF or TIFF tags pointing past the end, a malformed MPO or
APNG header) and, inside its TIFF/GIF decoders, sizes over its own bomb limit as warnings, which
Python prints as two-line tracebacks: noise around the one-line errors and notes the loader gives
for the same files. These must still be caught, as no check of ours can foresee every damaged tag.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Iterator
from typing import cast

from PIL import Image

__all__ = ["quiet_pillow"]

# Python (before 3.14's context-aware warnings) has no per-thread way to silence warnings:
# catch_warnings() swaps the whole process-wide list, so two threads interleaving it lose or leak
# filters. Instead, while at least one load runs, these two entries sit at the front of
# warnings.filters (counted across threads, removed by identity by the last load to end): no other
# entry is touched, only Pillow's own modules are matched, and the list is exactly as before once
# no load runs.
_QUIET_FILTERS: tuple[tuple[str, None, type[Warning], re.Pattern[str], int], ...] = (
    ("ignore", None, UserWarning, re.compile(r"PIL\."), 0),
    ("ignore", None, Image.DecompressionBombWarning, re.compile(r"PIL\."), 0),
)
_quiet_lock = threading.Lock()
_quiet_loads = 0


@contextlib.contextmanager
def quiet_pillow() -> Iterator[None]:
    """Within this block (on any thread), Pillow's own warnings are ignored; others are not."""
    global _quiet_loads
    with _quiet_lock:
        if _quiet_loads == 0:
            cast("list[object]", warnings.filters)[:0] = _QUIET_FILTERS  # one atomic list operation
        _quiet_loads += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_loads -= 1
            if _quiet_loads == 0:
                for entry in _QUIET_FILTERS:  # list.remove: atomic; the first equal entry, ours
                    with contextlib.suppress(ValueError):  # unless someone cleared the list
                        cast("list[object]", warnings.filters).remove(entry)
