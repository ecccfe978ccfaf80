"""Fixtures of the model tests: a stand-in Hugging Face hub on 127.0.0.1 (never the internet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models.hub_server import FakeHub


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """A local hub, online for huggingface_hub (the suite runs with HF_HUB_OFFLINE=1), with its
    own cache folder; pulls go to it through MORPHAPP_HF_ENDPOINT."""
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # read once at import
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with FakeHub() as server:
        monkeypatch.setenv("MORPHAPP_HF_ENDPOINT", server.url)
        yield server
