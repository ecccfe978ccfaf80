"""CI cannot pass without its data: with MORPHAPP_REQUIRE_TEST_DATA set, missing data fails tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_DATA_VAR
from tests.fresh_user import fresh_user_env

REPO = Path(__file__).resolve().parents[1]
A_TEST_THAT_NEEDS_MODELS = "tests/models/test_taesd.py::test_decode_is_bounded_and_deterministic"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = fresh_user_env(tmp_path / "home", MORPHAPP_MODEL_PATH=str(tmp_path / "no-models"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", A_TEST_THAT_NEEDS_MODELS],
        env=environment, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("required", [False, True])
def test_missing_data_skips_or_fails(tmp_path: Path, required: bool) -> None:
    done = _pytest(tmp_path, **({REQUIRE_DATA_VAR: "1"} if required else {}))
    if required:
        assert done.returncode == 1 and "1 error" in done.stdout, done.stdout
        assert f"{REQUIRE_DATA_VAR} is set: the test data is required here" in done.stdout
    else:
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
