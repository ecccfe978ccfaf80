"""Backend and precision choice: constraints, the calibration verdict, its cache, and the CLI flags."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest
import torch

from morphapp.cli.main import main
from morphapp.errors import InputError
from morphapp.models import backend
from morphapp.models.backend import MIN_PSNR_DB, Choice, candidates, choose
from morphapp.models.discovery import ModelInfo

CPU = torch.device("cpu")


@pytest.fixture
def small_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "CALIBRATION_SIZE", 64)  # same code path, a fraction of the time
    monkeypatch.setattr(backend, "_memory", {})


def test_candidates_follow_the_users_constraints() -> None:
    assert candidates(CPU, "torch", "fp32") == [("torch", "fp32")]
    assert candidates(CPU, "torch", "bf16") == [("torch", "bf16")]
    everything = candidates(CPU)
    assert ("torch", "fp32") in everything
    assert ("torch", "fp16") not in everything  # emulated on CPUs: never worth the calibration time
    with pytest.raises(InputError, match="fp32 only"):
        candidates(CPU, "onnx", "bf16")
    with pytest.raises(InputError, match="unknown"):
        candidates(CPU, "tensorrt", "auto")


def test_half_precision_below_40_db_is_never_picked() -> None:
    measured = {
        "torch fp32": {"decode_ms": 100.0, "encode_ms": 50.0, "psnr_db": 99.0},
        "torch bf16": {"decode_ms": 40.0, "encode_ms": 20.0, "psnr_db": MIN_PSNR_DB - 1},
        "onnx fp32": {"decode_ms": 80.0, "encode_ms": 40.0, "psnr_db": 99.0},
    }
    options = [("torch", "fp32"), ("torch", "bf16"), ("onnx", "fp32")]
    assert backend._pick(options, measured).label == "onnx fp32"
    measured["torch bf16"]["psnr_db"] = 45.0
    assert backend._pick(options, measured).label == "torch bf16"
    measured["torch bf16"]["decode_ms"] = 79.0  # a near tie: full precision wins
    assert backend._pick(options, measured).label == "onnx fp32"


def test_auto_calibrates_once_and_caches_the_verdict(
    taef2_info: ModelInfo, tmp_path: Path, small_calibration: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "calibration.json"
    notes: list[str] = []
    first = choose(taef2_info, CPU, note=notes.append, cache_path=cache)
    assert first.how == "calibrated"
    assert any("calibrating" in n for n in notes)
    assert set(first.measured) == {f"{b} {p}" for b, p in candidates(CPU)}
    assert first.measured[first.label]["psnr_db"] >= MIN_PSNR_DB
    assert first.measured["torch fp32"]["psnr_db"] == 99.0  # the reference itself
    stamp = cache.stat().st_mtime_ns
    (entry,) = json.loads(cache.read_text()).values()
    assert (entry["backend"], entry["precision"]) == (first.backend, first.precision)

    monkeypatch.setattr(backend, "_memory", {})  # a new process: only the file remains

    def fail(*_args: object, **_kw: object) -> None:
        raise AssertionError("calibrated again")

    monkeypatch.setattr(backend, "calibrate", fail)
    again = choose(taef2_info, CPU, note=notes.append, cache_path=cache)
    assert again.how == "cached"
    assert (again.label, again.measured) == (first.label, first.measured)
    assert cache.stat().st_mtime_ns == stamp
    assert first.label in again.describe() and "cached" in again.describe()


def test_explicit_choice_skips_calibration(taef2_info: ModelInfo, tmp_path: Path) -> None:
    cache = tmp_path / "calibration.json"
    choice = choose(taef2_info, CPU, "torch", "fp32", cache_path=cache)
    assert choice == Choice("torch", "fp32", "asked")
    assert choice.describe() == "backend torch fp32"
    assert not cache.exists()


def _cli(*args: str | Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--backend", "torch", "--precision", "fp32"], "backend torch fp32"),
        (["--dtype", "bfloat16"], "backend torch bf16"),  # the older flag still means torch weights
        (["--dtype", "float32", "--precision", "fp32"], "backend torch fp32"),
    ],
)
def test_cli_says_what_it_picked(
    pairs_dir: Path, tmp_path: Path, model_path_env: str, flags: list[str], expected: str
) -> None:
    out = tmp_path / "m.gif"
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    code, err = _cli("render", *keys, "-o", out, "--frames", "3", "--size", "64x48", *flags)
    assert code == 0, err
    assert f"note: {expected}\n" in err
    assert out.is_file()


def test_cli_rejects_contradicting_flags(pairs_dir: Path, tmp_path: Path, model_path_env: str) -> None:
    keys = [pairs_dir / "cat.png", pairs_dir / "dog.png"]
    contradictions = (
        ["--dtype", "float16", "--precision", "fp32"],
        ["--backend", "onnx", "--precision", "bf16"],
    )
    for flags in contradictions:
        code, err = _cli("render", *keys, "-o", tmp_path / "m.gif", "--size", "64x48", *flags)
        assert code == 2 and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def _fake_calibration(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, str]]]:
    """Replace the timing with a fixed verdict (torch fp32 fastest); returns the calls made."""
    if len(candidates(CPU)) < 2:
        pytest.skip("one candidate on this CPU (no bf16, no onnxruntime): nothing to calibrate")
    calls: list[list[tuple[str, str]]] = []

    def fake(_info: object, _dev: object, options: list[tuple[str, str]], *_a: object, **_kw: object) -> dict:
        calls.append(list(options))
        return {
            f"{b} {p}": {"decode_ms": 10.0 if (b, p) == ("torch", "fp32") else 50.0, "encode_ms": 5.0,
                         "psnr_db": 99.0 if p == "fp32" else 50.0}
            for b, p in options
        }  # fmt: skip

    monkeypatch.setattr(backend, "calibrate", fake)
    monkeypatch.setattr(backend, "_memory", {})
    return calls


def _age_entries(cache: Path, days: float) -> None:
    doc = json.loads(cache.read_text())
    for entry in doc.values():
        entry["at"] -= days * 86400
    cache.write_text(json.dumps(doc))


def test_a_stale_verdict_is_measured_again_a_fresh_one_reused(
    taef2_info: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "calibration.json"
    calls = _fake_calibration(monkeypatch)
    assert choose(taef2_info, CPU, cache_path=cache).how == "calibrated"
    assert len(calls) == 1

    monkeypatch.setattr(backend, "_memory", {})  # a new process, 29 days later: reused
    _age_entries(cache, backend.MAX_AGE_DAYS - 1)
    assert choose(taef2_info, CPU, cache_path=cache).how == "cached"
    assert len(calls) == 1

    monkeypatch.setattr(backend, "_memory", {})  # 31 days later: measured again, stamped now
    _age_entries(cache, 2)
    notes: list[str] = []
    again = choose(taef2_info, CPU, note=notes.append, cache_path=cache)
    assert (again.how, len(calls)) == ("calibrated", 2)
    assert any("stale" in n for n in notes)
    (entry,) = json.loads(cache.read_text()).values()
    assert abs(entry["at"] - time.time()) < 60

    monkeypatch.setattr(backend, "_memory", {})
    assert choose(taef2_info, CPU, cache_path=cache).how == "cached"
    assert len(calls) == 2


@pytest.mark.parametrize("at", [None, "yesterday", 4e12])  # unstamped (older file), malformed, future
def test_an_unstamped_or_odd_verdict_counts_as_stale(
    taef2_info: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: object
) -> None:
    cache = tmp_path / "calibration.json"
    calls = _fake_calibration(monkeypatch)
    choose(taef2_info, CPU, cache_path=cache)
    doc = json.loads(cache.read_text())
    for entry in doc.values():
        entry.pop("at") if at is None else entry.update(at=at)
    cache.write_text(json.dumps(doc))
    monkeypatch.setattr(backend, "_memory", {})
    assert choose(taef2_info, CPU, cache_path=cache).how == "calibrated"
    assert len(calls) == 2


def test_recalibrate_measures_again_even_when_fresh(
    taef2_info: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "calibration.json"
    calls = _fake_calibration(monkeypatch)
    first = choose(taef2_info, CPU, cache_path=cache)
    assert choose(taef2_info, CPU, cache_path=cache) is first  # this process's memory
    assert backend.cached_choice(taef2_info, CPU, cache_path=cache) is first
    again = choose(taef2_info, CPU, cache_path=cache, recalibrate=True)
    assert (again.how, len(calls)) == ("calibrated", 2)


def test_cached_choice_never_calibrates(
    taef2_info: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "calibration.json"
    calls = _fake_calibration(monkeypatch)
    assert backend.cached_choice(taef2_info, CPU, "torch", "fp32", cache_path=cache) == Choice(
        "torch", "fp32", "asked"
    )
    assert backend.cached_choice(taef2_info, CPU, cache_path=cache) is None
    assert calls == []
    choose(taef2_info, CPU, cache_path=cache)
    monkeypatch.setattr(backend, "_memory", {})
    assert backend.cached_choice(taef2_info, CPU, cache_path=cache) is not None
    _age_entries(cache, backend.MAX_AGE_DAYS + 1)
    monkeypatch.setattr(backend, "_memory", {})
    assert backend.cached_choice(taef2_info, CPU, cache_path=cache) is None


def test_cli_models_calibrate_replaces_the_cached_verdict(
    tmp_path: Path, model_path_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "calibration.json"
    monkeypatch.setattr(backend, "default_cache_path", lambda: cache)
    calls = _fake_calibration(monkeypatch)
    for expected_calls in (1, 2):  # the second run does not reuse the first one's verdict
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code, err = _cli("models", "calibrate", "--device", "cpu")
        assert code == 0, err
        assert len(calls) == expected_calls
        assert "again, as asked" in err
        assert "backend torch fp32 (auto, fastest correct" in out.getvalue()
        assert "calibrated now" in out.getvalue()
    assert len(json.loads(cache.read_text())) == 1
