from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec


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
