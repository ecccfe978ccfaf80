"""The user's ``models.toml``: extra model folders, and ComfyUI / A1111 installs to look inside.

Lives in the user config dir (``~/.config/morphapp/models.toml`` on Linux). Example::

    folders = ["~/art/models"]                 # searched like MORPHAPP_MODEL_PATH entries
    comfyui = "~/ComfyUI"                      # a string or a list of install roots
    a1111 = ["~/stable-diffusion-webui"]

An install root expands to the subfolders where that tool keeps the models morphapp can list.
A malformed file is an error naming the line, not a silently ignored setting.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from morphapp.errors import ModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "models.toml"

# Where each tool keeps model files, relative to its install root (the tools' own defaults).
INSTALL_LAYOUTS: dict[str, tuple[str, ...]] = {
    "comfyui": (
        "models/vae_approx",
        "models/vae",
        "models/checkpoints",
        "models/diffusers",
        "models/diffusion_models",
        "models/unet",
    ),
    "a1111": ("models/VAE-approx", "models/VAE", "models/Stable-diffusion"),
}
LABELS = {"folders": "models.toml", "comfyui": "ComfyUI", "a1111": "A1111"}


@dataclass(frozen=True)
class ConfiguredFolder:
    path: Path
    source: str  # "models.toml", "ComfyUI" or "A1111": shown in the WHERE column


def config_path() -> Path:
    return Path(platformdirs.user_config_dir("morphapp", appauthor=False)) / CONFIG_NAME


def configured_folders(path: Path | None = None) -> list[ConfiguredFolder]:
    """The folders that ``models.toml`` adds, in file order; none when there is no such file."""
    path = config_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot be read ({exc})") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(doc) - set(LABELS))
    if unknown:
        raise ModelError(f"{path}: unknown setting {unknown[0]!r} (expected {', '.join(LABELS)})")
    folders: list[ConfiguredFolder] = []
    for key, label in LABELS.items():
        for root in _paths(doc.get(key), key, path):
            if key == "folders":
                folders.append(ConfiguredFolder(root, label))
                continue
            for sub in INSTALL_LAYOUTS[key]:
                # Accept the install root or its models/ folder, whichever the user wrote.
                candidate = root / sub
                if not candidate.is_dir() and (root / sub.removeprefix("models/")).is_dir():
                    candidate = root / sub.removeprefix("models/")
                folders.append(ConfiguredFolder(candidate, f"{label} {sub.removeprefix('models/')}"))
    return folders


def _paths(value: Any, key: str, path: Path) -> list[Path]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise ModelError(f"{path}: {key} must be a folder path or a list of folder paths")
    return [Path(item).expanduser() for item in items]
