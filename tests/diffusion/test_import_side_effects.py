"""Issue 23, item 6: importing the diffusion backend changes no environment variable, and the
libraries stay quiet without them (they are quietened through their own APIs when loading)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What morphapp.diffusion used to set at import; removed from the child's environment, so that a
# setdefault() there would show.
LIBRARY_SETTINGS = ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY", "TRANSFORMERS_NO_ADVISORY_WARNINGS")
ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LIBRARY_SETTINGS}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
    )


def test_importing_the_diffusion_backend_leaves_os_environ_alone() -> None:
    # Not the modules that import diffusers at their top (ddim, attention): that import sets
    # TORCHINDUCTOR_CACHE_DIR itself (torch._dynamo, through diffusers), which is not ours.
    code = (
        "import json, os; before = dict(os.environ); "
        "import morphapp.diffusion, morphapp.diffusion.model; "
        "print(json.dumps([before, dict(os.environ)]))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.splitlines()[-1])
    assert after == before
    assert result.stderr == ""


def test_loading_a_pipeline_prints_nothing(tiny_sd_dir: Path) -> None:
    code = (
        "import torch; from morphapp.models.discovery import find_model; "
        "from morphapp.diffusion.model import load_pipeline; "
        f"load_pipeline(find_model({str(tiny_sd_dir)!r}), torch.float32)"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
