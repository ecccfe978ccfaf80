"""Discovery over the places artists keep models: models.toml, a ComfyUI / A1111 tree, the HF cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from morphapp.cli.main import main
from morphapp.errors import ModelError
from morphapp.models import describe
from morphapp.models.config import config_path, configured_folders
from morphapp.models.discovery import find_model, scan, search_roots
from morphapp.models.families import recognise
from morphapp.models.scan_cache import ScanCache
from tests.models.fakes import CHECKPOINT_KEYS, link_taef2, write_checkpoint, write_diffusers_pipeline

COMMIT = "a" * 40


@pytest.mark.parametrize(
    ("family", "kind", "expected", "channels"),
    [
        ("SD 1.x", "checkpoint", "SD 1.x", 4),
        ("SD 2.x", "checkpoint", "SD 2.x", 4),
        ("SDXL", "checkpoint", "SDXL", 4),
        ("SD3", "checkpoint", "SD3", 16),
        ("FLUX.1", "checkpoint", "FLUX.1", 16),
        ("FLUX.2", "checkpoint", "FLUX.2", 32),
        ("VAE", "vae", "SD3 / FLUX.1 VAE", 16),
    ],
)
def test_families_come_from_keys_and_shapes(family: str, kind: str, expected: str, channels: int) -> None:
    found = recognise(CHECKPOINT_KEYS[family])
    assert (found.kind, found.family, found.latent_channels) == (kind, expected, channels)


@pytest.fixture
def artist(tmp_path: Path, taef2_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with a ComfyUI install named in models.toml, and a Hugging Face cache."""
    comfy = tmp_path / "ComfyUI" / "models"
    link_taef2(comfy / "vae_approx", taef2_dir, "taef2", ("decoder",))  # ComfyUI keeps decoders only
    link_taef2(comfy / "vae_approx", taef2_dir, "taesd3-but-really-f2")
    write_checkpoint(comfy / "checkpoints" / "sd_xl_base_1.0.safetensors", "SDXL")
    write_checkpoint(comfy / "checkpoints" / "flux" / "flux1-dev.safetensors", "FLUX.1")
    write_checkpoint(comfy / "vae" / "ae.safetensors", "VAE")
    write_diffusers_pipeline(comfy / "diffusers" / "my-sd3", "StableDiffusion3Pipeline", 16)
    (comfy / "checkpoints" / "readme.safetensors").write_text("<html>not a model</html>")
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    config_path().parent.mkdir(parents=True)
    config_path().write_text(f'comfyui = "{tmp_path / "ComfyUI"}"\n')

    hub = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    repo = hub / "models--madebyollin--taef2"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "blobs").mkdir()
    for half in ("encoder", "decoder"):  # snapshots are symlinks into blobs/, as huggingface_hub makes them
        blob = repo / "blobs" / f"{half}-blob"
        blob.symlink_to(taef2_dir / f"taef2_{half}.pth")
        (repo / "snapshots" / COMMIT).mkdir(parents=True, exist_ok=True)
        (repo / "snapshots" / COMMIT / f"taef2_{half}.pth").symlink_to(blob)
    pipeline = hub / "models--stabilityai--sdxl-turbo" / "snapshots" / COMMIT
    write_diffusers_pipeline(pipeline, "StableDiffusionXLPipeline", 4)
    (hub / "models--someone--llm" / "snapshots" / COMMIT).mkdir(parents=True)  # not ours to scan

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_everything_is_found_and_tae_and_sd_class_models_are_usable(artist: Path) -> None:
    result = scan()
    by_name = {m.name: m for m in result.models}
    assert set(by_name) == {
        "taef2", "taesd3-but-really-f2", "sd_xl_base_1.0", "flux1-dev", "ae", "my-sd3", "sdxl-turbo"
    }  # fmt: skip
    # ComfyUI's decoder-only taef2 comes first (models.toml before the HF cache), as on a PATH.
    assert by_name["taef2"].source == "ComfyUI vae_approx" and not by_name["taef2"].can_encode
    assert by_name["taesd3-but-really-f2"].latent_channels == 32  # shapes, not the name
    sdxl = by_name["sd_xl_base_1.0"]
    assert (sdxl.kind, sdxl.family, sdxl.latent_channels, sdxl.usable, sdxl.source) == (
        "checkpoint", "SDXL", 4, True, "ComfyUI checkpoints"
    )  # fmt: skip
    assert sdxl.is_diffusion and not sdxl.can_encode  # the diffusion backend's, never the default
    assert by_name["flux1-dev"].family == "FLUX.1"  # two levels down: checkpoints/flux/
    assert not by_name["flux1-dev"].usable
    assert (by_name["ae"].kind, by_name["ae"].latent_channels) == ("vae", 16)
    assert by_name["my-sd3"].kind == "diffusers" and by_name["my-sd3"].latent_channels == 16
    assert not by_name["my-sd3"].usable and not by_name["ae"].usable
    turbo = by_name["sdxl-turbo"]
    assert turbo.family.startswith("SDXL") and turbo.source == "HF cache stabilityai/sdxl-turbo"
    assert turbo.size_bytes > 0
    assert any("readme.safetensors: not a weights file" in line for line in result.skipped)
    assert not any("llm" in str(r.path) for r in search_roots())


def test_the_default_is_never_a_model_that_cannot_render(artist: Path) -> None:
    info = find_model(None)
    assert info.usable and info.can_encode and info.name == "taesd3-but-really-f2"
    with pytest.raises(
        ModelError, match=r"flux1-dev: a FLUX.1 checkpoint model .* cannot render with it yet"
    ):
        find_model("flux1-dev")
    assert find_model("sd_xl_base_1.0").is_diffusion  # chosen by name, for the diffusion backend


def test_models_command_lists_them(artist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint (not usable yet)" in out and "ComfyUI checkpoints:" in out and "HF cache" in out
    assert "checkpoint (diffusion: --model sd_xl_base_1.0)" in out
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sdxl = next(m for m in doc["models"] if m["name"] == "sd_xl_base_1.0")
    assert sdxl["usable"] is True and sdxl["latent_channels"] == 4 and sdxl["format"] == "safetensors"


def test_second_scan_opens_no_model_file(artist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = scan()

    def no_reading(*args: object) -> None:
        raise AssertionError("a model file was opened although nothing changed")

    for name in ("describe_pair", "describe_single", "describe_onnx"):
        monkeypatch.setattr(f"morphapp.models.discovery.{name}", no_reading)
    second = scan()
    assert second.models == first.models and second.skipped == first.skipped


def test_a_changed_file_is_read_again(tmp_path: Path, taef2_dir: Path) -> None:
    cache = ScanCache(tmp_path / "cache.json")
    folder = tmp_path / "models"
    write_checkpoint(folder / "model.safetensors", "SDXL")
    assert scan([folder], cache=cache).models[0].family == "SDXL"
    write_checkpoint(folder / "model.safetensors", "SD3")
    assert scan([folder], cache=ScanCache(tmp_path / "cache.json")).models[0].family == "SD3"


def test_models_toml_errors_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text("comfyui = 3\n")
    with pytest.raises(ModelError, match="comfyui must be a folder path or a list"):
        configured_folders(path)
    path.write_text("comfy = '~/ComfyUI'\n")
    with pytest.raises(ModelError, match="unknown setting 'comfy'"):
        configured_folders(path)
    path.write_text("folders = [\n")
    with pytest.raises(ModelError, match="not valid TOML"):
        configured_folders(path)
    path.write_text('folders = ["~/a"]\na1111 = ["/sd"]\n')
    found = [(str(f.path), f.source) for f in configured_folders(path)]
    assert found[0] == (str(Path("~/a").expanduser()), "models.toml")
    assert ("/sd/models/Stable-diffusion", "A1111 Stable-diffusion") in found


def test_big_legacy_pickles_are_not_opened_to_list_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    path = tmp_path / "old.ckpt"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2) + b"\0" * 2000)
    monkeypatch.setattr(describe, "MAX_LEGACY_PICKLE_BYTES", 1000)
    result = scan([tmp_path])
    assert result.models == [] and "too large to inspect safely" in result.skipped[0]
