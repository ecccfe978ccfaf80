"""Shared fixtures: the real test photos and model folders from ../shared (never copied here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import torch

from morphapp.models.discovery import ModelInfo, find_model
from morphapp.models.tae_codec import TaeCodec
from tests import skip_policy

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout; MORPHAPP_SHARED names another (a GPU machine gets a copy inside the
# checkout: ../shared does not travel there).
SHARED = Path(os.environ.get("MORPHAPP_SHARED") or REPO.parent / "shared").resolve()
PAIRS_DIR = SHARED / "testdata" / "pairs"
FACES_DIR = SHARED / "testdata" / "faces"
# Set by .ci/run: a test that needs ../shared fails instead of skipping, so CI cannot pass
# without its data. A clone without ../shared (and no variable) still runs the rest.
REQUIRE_DATA_VAR = "MORPHAPP_REQUIRE_TEST_DATA"


def pytest_configure(config: pytest.Config) -> None:
    skip_policy.register(config)  # MORPHAPP_STRICT_SKIPS=1 (.ci/run): a skip not on its allow-list fails CI


def pytest_runtest_setup(item: pytest.Item) -> None:
    rehearsal = os.environ.get("MORPHAPP_GPU_TESTS_ON") == "cpu"  # tests/cuda on the CPU, to try them
    if item.get_closest_marker("cuda") is not None and not (rehearsal or torch.cuda.is_available()):
        pytest.skip("no CUDA GPU here")


def missing_test_data(what: str) -> NoReturn:
    if os.environ.get(REQUIRE_DATA_VAR, "").strip() not in ("", "0"):
        pytest.fail(f"{what}, and {REQUIRE_DATA_VAR} is set: the test data is required here", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session", autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reads or writes the developer's own models.toml, caches or Hugging Face downloads,
    and nothing may reach the internet (tests that download use a server on 127.0.0.1)."""
    home = tmp_path_factory.mktemp("user-dirs")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            mp.setenv(var, str(home / var.lower()))
        mp.setenv("HF_HOME", str(home / "huggingface"))
        for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "MORPHAPP_HF_ENDPOINT"):
            mp.delenv(var, raising=False)
        mp.setenv("HF_HUB_OFFLINE", "1")
        # The real TAEF2 weights beside the repo, unless the runner names other model folders
        # (made absolute: some tests change directory).
        given = os.environ.get("MORPHAPP_MODEL_PATH")
        if given:
            entries = [os.path.abspath(e) for e in given.split(os.pathsep) if e.strip()]
            mp.setenv("MORPHAPP_MODEL_PATH", os.pathsep.join(entries))
        else:
            mp.setenv("MORPHAPP_MODEL_PATH", str(SHARED / "models"))
        yield home


@pytest.fixture
def no_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An install whose built-in models were removed: the built-in folder is a missing one."""
    from morphapp.models import builtin

    gone = tmp_path / "builtin-removed"
    monkeypatch.setenv(builtin.ENV_VAR, str(gone))
    return gone


@pytest.fixture(scope="session")
def pairs_dir() -> Path:
    if not PAIRS_DIR.is_dir():
        missing_test_data(f"test photos not found at {PAIRS_DIR}")
    return PAIRS_DIR


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not FACES_DIR.is_dir():
        missing_test_data(f"test portraits not found at {FACES_DIR}")
    return FACES_DIR


@pytest.fixture(scope="session")
def model_path_env() -> str:
    """The MORPHAPP_MODEL_PATH that .ci/run sets (defaults to ../shared/models)."""
    value = os.environ.get("MORPHAPP_MODEL_PATH") or str(SHARED / "models")
    if not any(Path(p).is_dir() for p in value.split(os.pathsep) if p):
        missing_test_data(f"no model folder found in MORPHAPP_MODEL_PATH={value!r}")
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


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Stable Diffusion pipeline folder (tests/diffusion/tiny_sd.py), built once."""
    from tests.diffusion.tiny_sd import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny_sd_info(tiny_sd_dir: Path) -> ModelInfo:
    return find_model(str(tiny_sd_dir))
