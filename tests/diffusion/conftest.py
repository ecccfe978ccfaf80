"""Fixtures of the diffusion tests: a tiny SD pipeline on disk, found by discovery, loaded on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from morphapp.diffusion.model import DiffusionModel
from morphapp.models.discovery import find_model
from morphapp.models.info import ModelInfo


@pytest.fixture(scope="session")
def tiny_sd_info(tiny_sd_dir: Path) -> ModelInfo:
    return find_model(str(tiny_sd_dir))


@pytest.fixture(scope="session")
def tiny_sd(tiny_sd_info: ModelInfo) -> DiffusionModel:
    return DiffusionModel(tiny_sd_info, torch.device("cpu"))
