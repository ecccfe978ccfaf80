"""Fixtures of the diffusion tests: the tiny SD pipeline (tests/conftest.py), loaded on CPU."""

from __future__ import annotations

import pytest
import torch

from morphapp.diffusion.model import DiffusionModel
from morphapp.models.info import ModelInfo


@pytest.fixture(scope="session")
def tiny_sd(tiny_sd_info: ModelInfo) -> DiffusionModel:
    return DiffusionModel(tiny_sd_info, torch.device("cpu"))
