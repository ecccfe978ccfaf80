"""Projects record the model files they were made with (sha256, format, latent channels)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from morphapp.cli.main import main
from morphapp.core.domain.project import load_project, project_from_dict
from morphapp.errors import InputError
from morphapp.models.weights import sha256_file
from tests.models.fakes import link_taef2

FAST = ["--size", "32x32", "--frames", "2"]


@pytest.fixture
def setup(tmp_path: Path, taef2_dir: Path, pairs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    link_taef2(tmp_path / "models" / "taef2", taef2_dir)
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "models"))
    code, err = _cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "--save-project",
                     tmp_path / "p.json", *FAST)  # fmt: skip
    assert code == 0, err
    return tmp_path


def _cli(*args: object) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def test_saved_project_records_the_model_files(setup: Path, taef2_dir: Path) -> None:
    doc = json.loads((setup / "p.json").read_text())
    assert doc["model_latent_channels"] == 32
    assert doc["model_files"] == [
        {"role": half, "name": f"taef2_{half}.pth", "format": "torch-zip",
         "size": (taef2_dir / f"taef2_{half}.pth").stat().st_size,
         "sha256": sha256_file(taef2_dir / f"taef2_{half}.pth")}
        for half in ("encoder", "decoder")
    ]  # fmt: skip
    project = load_project(setup / "p.json")
    assert project.model_latent_channels == 32 and len(project.model_files) == 2


def test_a_different_model_file_is_a_note(setup: Path) -> None:
    doc = json.loads((setup / "p.json").read_text())
    doc["model_files"][1]["sha256"] = "0" * 64
    (setup / "p.json").write_text(json.dumps(doc))
    code, err = _cli("render", setup / "p.json", "-o", setup / "out.gif")
    assert code == 0, err
    assert "note: model file changed since the project was saved: decoder taef2_decoder.pth" in err


def test_same_model_no_note(setup: Path) -> None:
    code, err = _cli("render", setup / "p.json", "-o", setup / "out.gif")
    assert code == 0 and "changed" not in err


def test_a_model_of_another_latent_space_is_an_error_unless_chosen(setup: Path) -> None:
    doc = json.loads((setup / "p.json").read_text())
    assert doc["model"] == "taef2"  # the CLI names the model it used
    doc["model_latent_channels"] = 16  # as if made with TAESD3 / TAEF1
    (setup / "p.json").write_text(json.dumps(doc))
    code, err = _cli("render", setup / "p.json", "-o", setup / "out.gif")
    assert code == 2 and not (setup / "out.gif").exists()
    assert "taef2: is a 32-channel model (FLUX.2), but the project was made in the SD3 / FLUX.1" in err
    doc["model"] = None  # a project that names no model: the default must match its latent space
    (setup / "p.json").write_text(json.dumps(doc))
    code, err = _cli("render", setup / "p.json", "-o", setup / "out.gif")
    assert code == 2 and not (setup / "out.gif").exists()
    assert "no 16-channel (SD3 / FLUX.1) model found, which this project was made with" in err
    code, err = _cli("render", setup / "p.json", "-o", setup / "out.gif", "--model", "taef2")
    assert code == 0 and "made in a 16-channel latent space; taef2 is 32-channel" in err


def test_old_projects_without_the_record_still_load(setup: Path) -> None:
    doc = json.loads((setup / "p.json").read_text())
    del doc["model_files"], doc["model_latent_channels"]
    project = project_from_dict(doc, setup)
    assert project.model_files == () and project.model_latent_channels is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model_files", "abc", "model_files must be a list"),
        ("model_files", [{"role": "decoder"}], r"missing model_files\[0\].name"),
        ("model_latent_channels", "32", "model_latent_channels must be a positive whole number"),
    ],
)
def test_malformed_model_record_is_a_clear_error(
    setup: Path, field: str, value: object, message: str
) -> None:
    doc = json.loads((setup / "p.json").read_text())
    doc[field] = value
    with pytest.raises(InputError, match=message):
        project_from_dict(doc, setup)
