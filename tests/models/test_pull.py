"""``pull``: downloads through huggingface_hub from a local stand-in hub (127.0.0.1, never the internet)."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest

from morphapp.core.cancel import CancelToken
from morphapp.errors import Cancelled, ModelError
from morphapp.models.discovery import find_model
from morphapp.models.library import PullProgress, pull
from morphapp.models.registry import KNOWN_MODELS, KnownFile, KnownModel
from tests.models.hub_server import FakeHub

REPO = "test-org/taef2-copy"


@pytest.fixture
def taef2_bytes(taef2_dir: Path) -> dict[str, bytes]:
    return {
        f"taef2_{half}.pth": (taef2_dir / f"taef2_{half}.pth").read_bytes() for half in ("encoder", "decoder")
    }


def _known(files: dict[str, bytes], **pins: str) -> KnownModel:
    return KnownModel(
        "taef2", REPO, tuple(KnownFile(name, sha256=pins.get(name)) for name in files), 32, "test copy"
    )


def _serve(hub: FakeHub, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        hub.add(REPO, name, content)


def test_pull_downloads_checks_and_is_then_found(
    hub: FakeHub, taef2_bytes: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(hub, taef2_bytes)
    pins = {name: hashlib.sha256(data).hexdigest() for name, data in taef2_bytes.items()}
    seen: list[PullProgress] = []
    result = pull(_known(taef2_bytes, **pins), progress=seen.append)

    assert result.verified and result.model.latent_channels == 32 and result.model.can_encode
    assert [f.sha256 for f in result.files] == list(pins.values())
    assert all(
        str(f.path).startswith(str(tmp_path / "hf-cache" / "models--test-org--taef2-copy"))
        for f in result.files
    )
    assert seen[-1].done == seen[-1].total == len(taef2_bytes["taef2_decoder.pth"])
    assert {p.file_index for p in seen} == {1, 2}
    # Only the hub's /resolve/ route was asked: HEAD for metadata, then GET.
    assert {(r.method, r.path.split("/resolve/")[0]) for r in hub.state.requests} == {
        ("HEAD", f"/{REPO}"), ("GET", f"/{REPO}")
    }  # fmt: skip

    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(tmp_path / "nothing-here"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(KNOWN_MODELS, "taef2", _known(taef2_bytes))  # discovery lists known repos' snapshots
    found = find_model("taef2")
    assert found.source == f"HF cache {REPO}" and found.files == tuple(f.path for f in result.files)


def test_an_unpinned_file_is_reported_unverified(hub: FakeHub, taef2_bytes: dict[str, bytes]) -> None:
    _serve(hub, taef2_bytes)
    result = pull(_known(taef2_bytes))
    assert not result.verified
    assert result.files[0].sha256 == hashlib.sha256(taef2_bytes["taef2_encoder.pth"]).hexdigest()


def test_dropped_connection_resumes_with_a_range_request(
    hub: FakeHub, taef2_bytes: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    # huggingface_hub writes (and can resume from) whole 10 MiB chunks; smaller ones stand in for a big file.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)
    monkeypatch.setattr("huggingface_hub.file_download.time.sleep", lambda _s: None)
    _serve(hub, taef2_bytes)
    hub.state.drop_after[(REPO, "taef2_encoder.pth")] = 1_000_000
    result = pull(_known(taef2_bytes))
    ranges = [
        r.range for r in hub.state.requests if r.method == "GET" and r.path.endswith("taef2_encoder.pth")
    ]
    assert ranges == [None, f"bytes={3 * 256 * 1024}-"]  # the three whole chunks received are kept
    assert result.files[0].sha256 == hashlib.sha256(taef2_bytes["taef2_encoder.pth"]).hexdigest()


def test_wrong_hash_deletes_the_file_with_a_clear_error(
    hub: FakeHub, taef2_bytes: dict[str, bytes], tmp_path: Path
) -> None:
    _serve(hub, taef2_bytes)
    with pytest.raises(
        ModelError, match=r"taef2_encoder.pth: download rejected and deleted: its SHA-256 \w+ is not"
    ):
        pull(_known(taef2_bytes, **{"taef2_encoder.pth": "0" * 64}))
    assert not [p for p in (tmp_path / "hf-cache").rglob("*") if p.is_file() and "taef2" in p.name]
    blobs = tmp_path / "hf-cache" / "models--test-org--taef2-copy" / "blobs"
    assert not [p for p in blobs.iterdir() if not p.name.endswith(".lock")]


def test_content_that_differs_from_the_announced_sha256_is_deleted(
    hub: FakeHub, taef2_bytes: dict[str, bytes]
) -> None:
    _serve(hub, taef2_bytes)
    hub.state.etags[(REPO, "taef2_encoder.pth")] = "f" * 64  # as if the transfer was corrupted
    with pytest.raises(ModelError, match="damaged in transfer"):
        pull(_known(taef2_bytes))


def test_files_of_the_wrong_latent_space_are_rejected(hub: FakeHub, taef2_bytes: dict[str, bytes]) -> None:
    _serve(hub, taef2_bytes)
    known = KnownModel("taesd3", REPO, tuple(KnownFile(n) for n in taef2_bytes), 16, "16-channel")
    with pytest.raises(ModelError, match="32 latent channels, not the expected 16"):
        pull(known)


def test_not_a_model_is_rejected(hub: FakeHub) -> None:
    files = {"x_encoder.pth": b"<html>rate limited</html>", "x_decoder.pth": b"<html>rate limited</html>"}
    _serve(hub, files)
    with pytest.raises(ModelError, match="not a usable TAE model"):
        pull(KnownModel("x", REPO, tuple(KnownFile(n) for n in files), 4, "junk"))


def test_missing_file_on_the_hub(hub: FakeHub) -> None:
    with pytest.raises(ModelError, match="not on the hub"):
        pull(KnownModel("x", REPO, (KnownFile("nope.pth"),), 4, "missing"))


def test_cancel_stops_the_transfer_and_leaves_no_partial_file(
    hub: FakeHub, taef2_bytes: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)  # several updates
    _serve(hub, taef2_bytes)
    token = CancelToken()

    def cancel_midway(p: PullProgress) -> None:
        if p.done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        pull(_known(taef2_bytes), progress=cancel_midway, cancel=token)
    repo = tmp_path / "hf-cache" / "models--test-org--taef2-copy"
    assert not [p for p in (repo / "blobs").iterdir() if not p.name.endswith(".lock")]
    assert not list((repo / "snapshots").rglob("*.pth"))


def test_offline_says_where_to_copy_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ModelError,
        match=r"no network \(HF_HUB_OFFLINE is set\).* download "
        r"https://huggingface.co/madebyollin/taef2/resolve/main/taef2.safetensors; copy the file into "
        r".*morphapp/models/taef2 .*MORPHAPP_MODEL_PATH",
    ):
        pull("taef2")


def test_unreachable_hub_is_the_offline_message(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, taef2_bytes: dict[str, bytes]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MORPHAPP_HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    with pytest.raises(
        ModelError, match=rf"no network \(cannot connect to 127.0.0.1:{port}: Connection refused"
    ):
        pull(_known(taef2_bytes))
    assert time.perf_counter() - started < 3.0  # one look, not huggingface_hub's five retries


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match="known: taesd, taesdxl, taesd3, taef1, taef2"):
        pull("sdxl-base")


def test_models_pull_command(
    hub: FakeHub,
    taef2_bytes: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from morphapp.cli.main import main

    _serve(hub, taef2_bytes)
    monkeypatch.setitem(KNOWN_MODELS, "taef2", _known(taef2_bytes))
    assert main(["models", "pull", "taef2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "pulled taef2: FLUX.2 (TAEF2), 32 ch" in out
    assert out.count("not verified: morphapp has no pinned hash") == 2
