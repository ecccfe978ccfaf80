"""The wheel a user installs carries the built-in model and its licence, and stays small."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_WHEEL_BYTES = 15_000_000


def test_wheel_contains_the_built_in_model_and_stays_small(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("morphapp-*.whl")
    assert wheel.stat().st_size < MAX_WHEEL_BYTES
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        licence = archive.read("morphapp/models/builtin/LICENSE-taef2").decode()
    built_in = REPO / "morphapp" / "models" / "builtin" / "taef2.safetensors"
    assert sizes["morphapp/models/builtin/taef2.safetensors"] == built_in.stat().st_size
    assert licence.startswith("MIT License") and "Ollin Boer Bohan" in licence
    assert not [name for name in sizes if name.startswith("tests/")]  # no test code, no photos
    faces = REPO / "morphapp" / "faces" / "models"
    for model in faces.glob("*.tflite"):  # the face models for --align faces, with their licence
        assert sizes[f"morphapp/faces/models/{model.name}"] == model.stat().st_size
    assert "morphapp/faces/models/LICENSE-mediapipe" in sizes
