from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from morphapp.errors import ModelError
from morphapp.models.discovery import find_model, model_search_paths, scan


@pytest.fixture
def library(tmp_path: Path, taef2_dir: Path) -> Path:
    """Two model folders the way artists keep them (files linked, never copied into the repo)."""
    first = tmp_path / "first"
    (first / "taef2").mkdir(parents=True)
    for half in ("encoder", "decoder"):
        (first / "taef2" / f"taef2_{half}.pth").symlink_to(taef2_dir / f"taef2_{half}.pth")
    (first / "decoder_only_decoder.pth").symlink_to(taef2_dir / "taef2_decoder.pth")
    (first / "notes.safetensors").write_bytes(b"this is not a model")
    second = tmp_path / "second"
    second.mkdir()
    shutil.copy(taef2_dir / "taef2_decoder.pth", second / "TAEF2_decoder.pth")
    return tmp_path


def test_scan_finds_pairs_decoder_only_and_skips_junk(library: Path) -> None:
    result = scan([library / "first"])
    by_name = {m.name: m for m in result.models}
    assert set(by_name) == {"taef2", "decoder_only"}
    assert by_name["taef2"].can_encode and by_name["taef2"].latent_channels == 32
    assert not by_name["decoder_only"].can_encode
    assert by_name["taef2"].size_bytes == pytest.approx(5_409_448, abs=10_000)
    assert any("notes.safetensors" in line for line in result.skipped)


def test_env_var_order_and_names_are_case_insensitive(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", f"{library / 'second'}:{library / 'first'}")
    paths = model_search_paths()
    assert paths[0] == library / "second" and paths[1] == library / "first"
    # "TAEF2" in the first folder wins over "taef2" in the second, as on a PATH.
    info = find_model("taef2")
    assert info.decoder.parent == library / "second" and not info.can_encode


def test_unknown_model_names_the_search_path(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(library / "first"))
    with pytest.raises(
        ModelError, match=r"no such model \(found: .*taef2.*\); models are looked for in"
    ) as err:
        find_model("taesdxl")
    assert str(library / "first") in str(err.value)


def test_no_model_at_all_says_where_to_put_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: Path
) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with pytest.raises(
        ModelError, match=f"no model found: the built-in model is missing from {no_builtin}; reinstall"
    ) as err:
        find_model(None)
    assert "huggingface/hub (Hugging Face cache)" in str(err.value)  # every place searched is named


def test_with_nothing_installed_the_built_in_model_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taef2_dir: Path
) -> None:
    from morphapp.models import builtin

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    info = find_model(None)
    assert (info.name, info.source, info.latent_channels, info.can_encode) == ("taef2", "built-in", 32, True)
    assert info.decoder == builtin.builtin_folder() / "taef2.safetensors"
    # Anything the artist installs comes first: here the same model as .pth halves.
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(taef2_dir))
    assert find_model(None).source == "MORPHAPP_MODEL_PATH"


def test_a_damaged_built_in_model_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: Path
) -> None:
    no_builtin.mkdir()
    (no_builtin / "taef2.safetensors").write_bytes(b"\x00" * 64)
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ModelError, match=r"the built-in model is damaged \(.*taef2.safetensors: .*\); reinstall"
    ):
        find_model(None)


def test_model_by_file_path_finds_its_sibling(library: Path) -> None:
    info = find_model(str(library / "first" / "taef2" / "taef2_encoder.pth"))
    assert info.name == "taef2" and info.decoder.name == "taef2_decoder.pth"


def test_mismatched_pair_is_skipped_with_reason(tmp_path: Path, taef2_dir: Path) -> None:
    torch.save(
        {"0.weight": torch.zeros(64, 3, 3, 3), "1.weight": torch.zeros(4, 64, 3, 3)},
        tmp_path / "odd_encoder.pth",
    )
    (tmp_path / "odd_decoder.pth").symlink_to(taef2_dir / "taef2_decoder.pth")
    result = scan([tmp_path])
    assert result.models == []
    assert any("does not match" in line for line in result.skipped)
