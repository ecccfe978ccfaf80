"""Exports reveal none of the artist's files unless asked (issue 25): no folder, no file name, no
content hash of a keyframe anywhere in the bytes of any format; ``--embed-project`` puts the whole
project back in, so such a file opens as the project again."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from morphapp.cli.main import main

SECRET_FOLDER = "alice-private-holiday"
SECRET_NAME = "beach with grandma"


def _cli(*args: str | Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


@pytest.fixture
def private_pair(
    pairs_dir: Path, tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> list[Path]:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)
    folder = tmp_path / SECRET_FOLDER
    folder.mkdir()
    keys = [folder / f"{SECRET_NAME} {i}.png" for i in (1, 2)]
    shutil.copy(pairs_dir / "cat.png", keys[0])
    shutil.copy(pairs_dir / "dog.png", keys[1])
    return keys


def _all_bytes(output: Path) -> bytes:
    if output.is_dir():
        return b"".join(p.read_bytes() for p in sorted(output.iterdir()))
    return output.read_bytes()


def _secrets(keys: list[Path]) -> list[bytes]:
    hashes = [hashlib.sha256(k.read_bytes()).hexdigest().encode() for k in keys]
    return [SECRET_FOLDER.encode(), SECRET_NAME.encode(), *hashes]


@pytest.mark.parametrize(
    ("format_name", "name"),
    [("gif", "m.gif"), ("mp4", "m.mp4"), ("webm", "m.webm"), ("mov", "m.mov"), ("webp", "m.webp"),
     ("apng", "m.apng"), ("png", "frames")],
)  # fmt: skip
def test_no_export_reveals_the_pictures_files(
    private_pair: list[Path], tmp_path: Path, format_name: str, name: str
) -> None:
    out = tmp_path / "exports" / name
    out.parent.mkdir()
    code, err = _cli("render", *private_pair, "-o", out, "--format", format_name, "--size", "64x48",
                     "--frames", "3", "--align", "none", "--quiet")  # fmt: skip
    assert code == 0, err
    data = _all_bytes(out)
    for secret in _secrets(private_pair):
        assert secret not in data, f"{format_name} export carries {secret!r}"


def test_the_settings_are_carried_and_the_project_only_when_asked(
    private_pair: list[Path], tmp_path: Path
) -> None:
    plain, embedded = tmp_path / "plain.gif", tmp_path / "embedded.gif"
    assert _cli("render", *private_pair, "-o", plain, "--size", "64x48", "--frames", "3", "-q")[0] == 0
    carried = json.loads(Image.open(plain).info["comment"])
    assert carried["app"] == "morphapp" and carried["settings"]["size"] == [64, 48]
    assert carried["keyframes"] == [{"type": "image"}, {"type": "image"}]
    assert _cli("render", *private_pair, "-o", embedded, "--size", "64x48", "--frames", "3", "-q",
                "--embed-project")[0] == 0  # fmt: skip
    data = embedded.read_bytes()
    assert all(secret in data for secret in _secrets(private_pair))  # the user asked for it
    project = json.loads(Image.open(embedded).info["comment"])
    assert project["keyframes"][0]["path"].endswith(f"{SECRET_NAME} 1.png")
