from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from morphapp.errors import ModelError
from morphapp.models.weights import load_state_dict, sniff_format


class _RunsCode:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil_decoder.pth"
    torch.save({"1.weight": torch.zeros(1), "payload": _RunsCode(marker)}, evil)
    with pytest.raises(ModelError, match="refused to load"):
        load_state_dict(evil)
    assert not marker.exists()

    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_RunsCode(marker), protocol=2))
    with pytest.raises(ModelError, match="refused to load"):
        load_state_dict(raw)
    assert not marker.exists()


def test_format_comes_from_content_not_extension(tmp_path: Path) -> None:
    st = tmp_path / "model.pth"  # safetensors content behind a .pth name
    save_file({"w": torch.ones(2, 2)}, str(st))
    assert sniff_format(st) == "safetensors"
    assert torch.equal(load_state_dict(st)["w"], torch.ones(2, 2))
    pt = tmp_path / "model.safetensors"
    torch.save({"w": torch.ones(3)}, pt)
    assert sniff_format(pt) == "torch-zip"
    assert torch.equal(load_state_dict(pt)["w"], torch.ones(3))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too small"),
        (b"<html>not a model</html>", "not a weights file"),
        (b"\x00" * 64, "not a weights file"),
    ],
)
def test_non_models_are_rejected(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_state_dict(path)


def test_truncated_files_are_rejected(tmp_path: Path) -> None:
    full = tmp_path / "full.safetensors"
    save_file({"w": torch.ones(64, 64)}, str(full))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(full.read_bytes()[:-100])
    with pytest.raises(ModelError, match="damaged"):
        load_state_dict(cut)
    pt = tmp_path / "full.pth"
    torch.save({"w": torch.ones(64, 64)}, pt)
    cut_pt = tmp_path / "cut.pth"
    cut_pt.write_bytes(pt.read_bytes()[:200])
    with pytest.raises(ModelError, match=r"damaged|refused"):
        load_state_dict(cut_pt)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_state_dict(tmp_path / "nope.pth")
