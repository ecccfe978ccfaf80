"""Shared fixtures: the real test photos and model folders from ../shared (never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PAIRS_DIR = SHARED / "testdata" / "pairs"


@pytest.fixture(scope="session")
def pairs_dir() -> Path:
    if not PAIRS_DIR.is_dir():
        pytest.skip(f"test photos not found at {PAIRS_DIR}")
    return PAIRS_DIR


@pytest.fixture(scope="session")
def model_path_env() -> str:
    """The MORPHAPP_MODEL_PATH that .ci/run sets (defaults to ../shared/models)."""
    value = os.environ.get("MORPHAPP_MODEL_PATH") or str(SHARED / "models")
    if not any(Path(p).is_dir() for p in value.split(os.pathsep) if p):
        pytest.skip(f"no model folder found in MORPHAPP_MODEL_PATH={value!r}")
    return value
