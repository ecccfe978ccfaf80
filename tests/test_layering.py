"""The engine runs headless (core, models, export and the engine facade never import Qt or the CLI), and
its layers point one way."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import REPO


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extras"
    result = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 6 kept, 0 broken" in result.stdout


def test_importing_the_engine_loads_neither_qt_nor_diffusers() -> None:
    code = (
        "import sys\n"
        "import morphapp.core.render.frames, morphapp.core.domain.project\n"
        "import morphapp.models.tae_codec, morphapp.export\n"
        "import morphapp.engine\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'shiboken6',"
        " 'diffusers', 'transformers'}"
        " or m.startswith('morphapp.cli'))\n"
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
