"""Fixtures of the diffusion tests: a tiny SD pipeline on disk, found by discovery, loaded on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from morphapp.diffusion.model import DiffusionModel
from morphapp.models.discovery import find_model
from morphapp.models.info import ModelInfo
from tests.diffusion.tiny_sd import build_tiny_sd


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sd(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny_sd_info(tiny_sd_dir: Path) -> ModelInfo:
    return find_model(str(tiny_sd_dir))


@pytest.fixture(scope="session")
def tiny_sd(tiny_sd_info: ModelInfo) -> DiffusionModel:
    return DiffusionModel(tiny_sd_info, torch.device("cpu"))
