"""Reading a JSON file the user gives (points, a project): untrusted, so bounded and worded.

Every failure is an ``InputError`` that names the file and says what is wrong in the file's own
terms ("not a points file (not UTF-8 text)"), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from morphapp.errors import InputError


def read_json_file(path: Path, kind: str, max_bytes: int, *, missing: str) -> Any:
    """The parsed contents of ``path``; ``kind`` names what it should be ("points file",
    "morphapp project") in the errors, ``missing`` what is not found ("project file")."""
    if not path.is_file():
        raise InputError(f"{path}: {missing} not found")
    try:
        if path.stat().st_size > max_bytes:
            raise InputError(f"{path}: too large to be a {kind}")
        # utf-8-sig: editors on Windows save JSON with a byte-order mark.
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a {kind} (not UTF-8 text)") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except RecursionError as exc:  # "[[[[..." thousands deep: json recurses once per level
        raise InputError(f"{path}: not a {kind} (nested too deeply)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
