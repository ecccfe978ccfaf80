"""The environment of a new user on a fresh machine: an empty home, no model folders, offline."""

from __future__ import annotations

import os
from pathlib import Path

# Whatever names a model folder, a cache, a config place or a hub: a new user has none of these.
_USER_VARS = ("HF_", "HUGGINGFACE_", "MORPHAPP_", "XDG_")


def fresh_user_env(home: Path, **extra: str) -> dict[str, str]:
    """os.environ without any user setting, with ``home`` as the (empty) home folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_USER_VARS)}
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env.update(extra)
    return env
