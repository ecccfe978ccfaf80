"""Shared fixtures: the real test photos and model folders from ../shared (never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec

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


@pytest.fixture(scope="session")
def taef2_info(model_path_env: str) -> ModelInfo:
    old = os.environ.get("MORPHAPP_MODEL_PATH")
    os.environ["MORPHAPP_MODEL_PATH"] = model_path_env
    try:
        return find_model("taef2")
    finally:
        if old is None:
            os.environ.pop("MORPHAPP_MODEL_PATH", None)
        else:
            os.environ["MORPHAPP_MODEL_PATH"] = old


@pytest.fixture(scope="session")
def taef2(taef2_info: ModelInfo) -> TaeCodec:
    return TaeCodec(taef2_info, torch.device("cpu"), torch.float32)


@pytest.fixture(scope="session")
def taef2_dir(taef2_info: ModelInfo) -> Path:
    return taef2_info.decoder.parent
