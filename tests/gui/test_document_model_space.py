"""The window opens a project with the CLI's model rule (models/project_model.py, issue 23): a model
of the latent space the project was made in, or the CLI's error, never silently another space."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from morphapp.cli.main import main
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.project import Project, load_project, save_project, with_hashes
from morphapp.core.domain.settings import MorphSettings
from morphapp.gui.document import Document
from morphapp.models import taesd
from morphapp.models.discovery import find_model
from morphapp.models.project_model import with_model
from tests.models.fakes import link_taef2


@pytest.fixture
def models(tmp_path: Path, taef2_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine's models: the real TAEF2 (32 channels, found first: the default) and a randomly
    initialised 4-channel TAESD built here."""
    folder = tmp_path / "models"
    link_taef2(folder / "taef2", taef2_dir)
    (folder / "taesd").mkdir()
    torch.manual_seed(0)
    for kind, build in (("encoder", taesd.build_encoder), ("decoder", taesd.build_decoder)):
        state = {k: v.contiguous() for k, v in build(4, False).state_dict().items()}
        save_file(state, str(folder / "taesd" / f"taesd_{kind}.safetensors"))
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(folder))
    assert find_model().name == "taef2" and find_model("taesd").latent_channels == 4
    return folder


def _project_made_with_taesd(pairs_dir: Path, target: Path, model: str | None) -> Path:
    """A project rendered with the 4-channel TAESD, as the CLI saves it (files and latent space)."""
    keys = (Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png"))
    project = with_hashes(Project(keys, MorphSettings(size=(32, 32), frames=2)))
    project = with_model(project, find_model("taesd"))
    save_project(dataclasses.replace(project, model=model), target)
    return target


def _cli_error(*args: object) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main([str(a) for a in args]) == 2
    return err.getvalue()


def test_a_project_naming_no_model_opens_with_one_of_its_latent_space(
    qtbot, models: Path, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = _project_made_with_taesd(pairs_dir, tmp_path / "p.json", model=None)
    doc = Document()
    assert doc.load(source) == []  # not "made in a 4-channel latent space; taef2 is 32-channel"
    assert doc.model == "taesd"  # the preview renders with the document's model: not the default TAEF2
    assert not doc.dirty
    doc.save(tmp_path / "again.json")  # names the model, as the CLI does
    again = load_project(tmp_path / "again.json")
    assert (again.model, again.model_latent_channels) == ("taesd", 4)


def test_a_latent_space_this_machine_lacks_is_the_clis_error(
    qtbot, models: Path, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = _project_made_with_taesd(pairs_dir, tmp_path / "p.json", model=None)
    shutil.rmtree(models / "taesd")  # only 32-channel TAEF2 here now
    doc = Document()
    notes = doc.load(source)
    assert len(notes) == 1 and notes[0].startswith(
        "no 4-channel (SD 1.x-2.x / SDXL) model found, which this project was made with"
    )
    assert notes[0] in _cli_error("render", source, "-o", tmp_path / "out.gif")  # word for word
    assert doc.model is None and len(doc.keyframes) == 2  # the project still opens, to edit
    # Saving it keeps the 4-channel record: it must not become a TAEF2 project by being saved here.
    doc.save(tmp_path / "again.json")
    assert load_project(tmp_path / "again.json").model_latent_channels == 4
    # Choosing a model is the artist's call (the CLI's --model): its latent space is recorded then.
    doc.set_model("taef2")
    doc.save(tmp_path / "again.json")
    assert load_project(tmp_path / "again.json").model_latent_channels == 32


def test_a_named_model_of_another_latent_space_is_the_clis_error(
    qtbot, models: Path, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = _project_made_with_taesd(pairs_dir, tmp_path / "p.json", model="taef2")
    notes = Document().load(source)
    assert len(notes) == 1 and notes[0].startswith(
        "taef2: is a 32-channel model (FLUX.2), but the project was made in the SD 1.x-2.x / SDXL latent"
    )
    assert notes[0] in _cli_error("render", source, "-o", tmp_path / "out.gif")
