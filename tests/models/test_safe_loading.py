"""Hostile and broken model files: each is one clear ModelError, and nothing gets loaded or mapped."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from morphapp.errors import ModelError
from morphapp.models.discovery import find_model
from morphapp.models.safetensors_check import read_header
from morphapp.models.weights import load_state_dict


@pytest.fixture(autouse=True)
def _no_mapping(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call into safetensors' loader: a refused file must never get there."""
    import safetensors.torch

    calls: list[str] = []
    real = safetensors.torch.load_file

    def spy(path: str, *args: object, **kwargs: object) -> object:
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "load_file", spy)
    return calls


def _raw(path: Path, header: dict[str, object], data: bytes, header_len: int | None = None) -> Path:
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob) if header_len is None else header_len) + blob + data)
    return path


def _duplicate_names(path: Path) -> None:
    entry = b'{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
    blob = b'{"w":' + entry + b',"w":' + entry + b"}"
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0")


def _entry(dtype: str, shape: list[int], start: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        ("zero-byte", lambda p: p.write_bytes(b""), "too small to be a model"),
        (
            "html",
            lambda p: p.write_bytes(b"<!DOCTYPE html><html><body>404</body></html>"),
            "not a weights file",
        ),
        (
            "header past the end",
            lambda p: _raw(p, {"w": _entry("F32", [2], 0, 8)}, b"\0" * 8, header_len=5000),
            "header of 5000 bytes runs past the end",
        ),
        (
            "overlapping offsets",
            lambda p: _raw(p, {"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 4, 12)}, b"\0" * 12),
            "overlaps the tensor before it",
        ),
        (
            "truncated data",
            lambda p: _raw(p, {"w": _entry("F32", [64], 0, 256)}, b"\0" * 100),
            "lie outside the 100-byte data area; the file may be truncated",
        ),
        (
            "unknown dtype",
            lambda p: _raw(p, {"w": _entry("F128", [2], 0, 32)}, b"\0" * 32),
            "unknown dtype 'F128'",
        ),
        (
            "shape does not fit the bytes",
            lambda p: _raw(p, {"w": _entry("F16", [3], 0, 8)}, b"\0" * 8),
            "has 8 bytes; shape \\[3\\] of F16 needs 6",
        ),
        (
            "gap in the data",
            lambda p: _raw(p, {"w": _entry("F32", [1], 4, 8)}, b"\0" * 8),
            "4 unused bytes before tensor 'w'",
        ),
        (
            "header not JSON",
            lambda p: p.write_bytes(struct.pack("<Q", 12) + b"{not json!!}" + b"\0" * 8),
            "header is not valid JSON",
        ),
        ("duplicate tensor names", lambda p: _duplicate_names(p), "a tensor name appears twice"),
    ],
)
def test_broken_safetensors_are_refused_before_mapping(
    tmp_path: Path, _no_mapping: list[str], name: str, build: object, message: str
) -> None:
    path = tmp_path / "model_decoder.safetensors"
    build(path)  # type: ignore[operator]
    with pytest.raises(ModelError, match=message) as err:
        load_state_dict(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert _no_mapping == []
    with pytest.raises(ModelError):  # discovery refuses it the same way
        find_model(str(path))


def test_a_good_file_passes_and_reports_its_shapes(tmp_path: Path, _no_mapping: list[str]) -> None:
    path = tmp_path / "good.safetensors"
    save_file(
        {"a": torch.zeros(2, 3), "b": torch.ones(4, dtype=torch.float16), "e": torch.zeros(0)}, str(path)
    )
    header = read_header(path)
    assert header.shapes() == {"a": (2, 3), "b": (4,), "e": (0,)}
    assert set(load_state_dict(path)) == {"a", "b", "e"} and _no_mapping == [str(path)]


def test_tae_of_the_wrong_latent_space_is_a_clear_error(
    tmp_path: Path, taef2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project made in a 16-channel space asks for its model; the file there is 32-channel."""
    folder = tmp_path / "models" / "taesd3"
    folder.mkdir(parents=True)
    for half in ("encoder", "decoder"):  # a 32-channel TAEF2 saved under TAESD3's name
        (folder / f"taesd3_{half}.pth").symlink_to(taef2_dir / f"taef2_{half}.pth")
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "models"))
    expected = (
        r"taesd3: is a 32-channel model \(FLUX.2\), but the project was made in the SD3 / FLUX.1 latent"
    )
    with pytest.raises(ModelError, match=expected):
        find_model("taesd3", latent_channels=16)
    with pytest.raises(ModelError, match=r"no 16-channel \(SD3 / FLUX.1\) model found"):
        find_model(None, latent_channels=16)
    assert find_model("taesd3", latent_channels=32).latent_channels == 32
