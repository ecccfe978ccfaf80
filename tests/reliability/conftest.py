"""Helpers of the reliability suite: the CLI in-process and as a real subprocess, polling, hashing.

Everything runs at 64x64 so a 20-40 frame render takes seconds and a kill lands mid-export.
Kill tests poll for the temp output to appear (never sleep for a guessed time).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from morphapp.cli.main import main

SIZE = "64x64"
POLL_S = 0.02
# Generous: the machine is shared and a render of a few dozen 64x64 frames takes 2-30 s.
START_TIMEOUT_S = 120.0


# What the tests measured (cancel latency, memory...), shown after the test run.
MEASURED: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("reliability measurements")
        for key, value in MEASURED.items():
            terminalreporter.write_line(f"{key}: {value}")


@pytest.fixture(autouse=True)
def _models(model_path_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", model_path_env)


@pytest.fixture
def keys(pairs_dir: Path) -> list[Path]:
    return [pairs_dir / "cat.png", pairs_dir / "dog.png"]


def run_cli(*args: str | Path) -> tuple[int, str]:
    """The CLI in this process: (exit code, stderr).

    Python warnings are shown on stderr as a plain ``python -m morphapp`` would show them
    (pytest would otherwise collect them quietly), so "one line on stderr" is checked for real.
    """
    err = io.StringIO()
    with contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        code = main([str(a) for a in args])
    for w in caught:
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    return code, err.getvalue()


def cli_env(model_path: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if model_path is not None:
        env["MORPHAPP_MODEL_PATH"] = model_path
    return env


def start_cli(
    *args: str | Path, cwd: Path, env: dict[str, str], preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[str]:
    """``python -m morphapp ARGS`` as a real subprocess, stderr captured, with Ctrl+C (SIGINT) as a
    terminal delivers it: a test run started in the background of a shell (``cmd &``, as CI runners
    and scripts do) has SIGINT ignored, and an ignored signal stays ignored in every child."""

    def child_setup() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python then installs its KeyboardInterrupt
        if preexec_fn is not None:
            preexec_fn()

    return subprocess.Popen(
        [sys.executable, "-m", "morphapp", *(str(a) for a in args)],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=child_setup,
    )  # fmt: skip


def run_cli_subprocess(
    *args: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "morphapp", *(str(a) for a in args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def wait_until(
    condition: Callable[[], bool], proc: subprocess.Popen[str] | None = None, timeout: float = START_TIMEOUT_S
) -> None:
    """Poll ``condition``; fail if it is not met in time or ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            stderr = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"the CLI exited ({proc.returncode}) before the condition was met: {stderr}")
        if time.monotonic() > deadline:
            if proc is not None:
                proc.kill()
            pytest.fail("timed out waiting for the render to get going")
        time.sleep(POLL_S)


def kill_hard(proc: subprocess.Popen[str]) -> None:
    """kill -9: no handler, no cleanup, exactly like a crash or a power cut of the process."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def temp_entries(target: Path) -> list[Path]:
    """Temp files and folders of exports to ``target`` (``.<name>.<random>.part``)."""
    return sorted(target.parent.glob(f".{target.name}.*.part"))


def temp_frames(target: Path) -> list[Path]:
    """Complete PNG frames inside the temp folder(s) of a PNG-sequence export to ``target``."""
    return sorted(p for d in temp_entries(target) if d.is_dir() for p in d.glob("frame_*.png"))


def frame_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every frame of a PNG-sequence folder, by file name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("frame_*.png"))}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (recursively) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def error_line(stderr: str) -> str:
    """The single line an error must print; fails if there are more."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    assert lines[0].startswith("morphapp: error: "), lines[0]
    return lines[0]


@contextlib.contextmanager
def tmpfs(mountpoint: Path, *options: str) -> Iterator[Path]:
    """Mount a small tmpfs (root only); skip the test where mounting is not allowed."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options) or "size=1m"
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mountpoint)], capture_output=True, text=True
        )
    except OSError as exc:  # no mount command (Windows, minimal containers)
        pytest.skip(f"cannot mount a tmpfs here ({exc})")
    if result.returncode != 0:  # not root, or a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'})")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
