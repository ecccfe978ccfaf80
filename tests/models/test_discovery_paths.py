"""Models found through a relative search path still load from another working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from morphapp.models.discovery import scan
from morphapp.models.scan_cache import ScanCache


def test_a_relative_model_path_gives_absolute_files_that_survive_a_chdir(
    taef2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ScanCache(tmp_path / "scan.json")
    monkeypatch.chdir(taef2_dir.parent)
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", taef2_dir.name)  # relative to the cwd
    first = next(m for m in scan(cache=cache).models if m.name == "taef2")
    assert all(p.is_absolute() and p.is_file() for p in first.files)
    cache.save()
    monkeypatch.chdir(tmp_path)  # elsewhere, as the GUI or a project may be
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(taef2_dir))
    again = next(m for m in scan(cache=ScanCache(tmp_path / "scan.json")).models if m.name == "taef2")
    assert [p.resolve() for p in again.files] == [p.resolve() for p in first.files]
    assert all(p.is_absolute() and p.is_file() for p in again.files)


def test_cache_entries_with_relative_paths_are_described_again(
    taef2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: Path
) -> None:
    import json

    cache_file = tmp_path / "scan.json"
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(taef2_dir))
    scan(cache=ScanCache(cache_file))
    doc = json.loads(cache_file.read_text())
    changed = 0
    for entry in doc["folders"].values():
        for model in entry["models"]:
            for key in ("encoder", "decoder"):
                if model.get(key):
                    model[key] = os.path.relpath(model[key], "/nonexistent-cwd")  # as an old cache had
                    changed += 1
    assert changed == 2
    cache_file.write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    found = next(m for m in scan(cache=ScanCache(cache_file)).models if m.name == "taef2")
    assert all(p.is_absolute() and p.is_file() for p in found.files)


def test_configuration_folders_are_not_models(tmp_path: Path) -> None:
    """A single-file checkpoint's ``<name>.config`` folder and a weightless pipeline (configs only)
    are not listed as models: they would fail to load."""
    import json

    from tests.models.fakes import write_diffusers_pipeline

    config = tmp_path / "sd15.config"
    (config / "unet").mkdir(parents=True)
    (config / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (config / "unet" / "config.json").write_text("{}")
    bare = tmp_path / "configs-only"
    bare.mkdir()
    (bare / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    write_diffusers_pipeline(tmp_path / "real-sd", "StableDiffusionPipeline", 4)
    result = scan([tmp_path], cache=ScanCache(None))
    assert [m.name for m in result.models] == ["real-sd"]
    assert any("configs-only: a diffusers configuration without weights" in line for line in result.skipped)
