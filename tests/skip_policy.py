"""CI's skip policy: with ``MORPHAPP_STRICT_SKIPS=1`` (``.ci/run`` sets it) a session that skipped
a test for a reason not on ``ALLOWED_SKIPS`` fails, and every skip is listed with its reason.

A skip hides an untested feature. The only ones CI accepts are platform facts no setup step can
change; a missing package of the ``[test]`` extra, a missing system library or tool that CI
installs, or missing test data is a failure here, not a skip. Loaded by tests/conftest.py (or
``-p tests.skip_policy``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest

STRICT_VAR = "MORPHAPP_STRICT_SKIPS"

# The allow-list, matched (re.search) against each skip's reason. Keep it short: platform reasons only.
ALLOWED_SKIPS: tuple[str, ...] = (
    # Windows: no SIGKILL / SIGINT to a child process, no RLIMIT_FSIZE; the offscreen window tests are Linux's
    r"POSIX|^offscreen Qt, Linux$",
    # Intel macOS: ai-edge-litert has no wheel there (pyproject), so the face models cannot run
    r"^Intel macOS has no ai-edge-litert wheel",
    # a CPU without native bf16 (no AVX512-BF16 / AMX; most ARM): emulated bf16 is never offered
    r"^this CPU has no fast bf16",
    # CUDA or not: on a GPU machine the ONNX Runtime CUDA-to-CPU fallback test needs an onnxruntime built
    # without CUDA; on one without a GPU (CI's) the tests marked ``cuda`` skip (bench/gpu_check.py runs them)
    r"^this onnxruntime has CUDA$|^no CUDA GPU here",
    # no mount rights (not root, or a container without CAP_SYS_ADMIN): the tmpfs disk-full tests
    r"^cannot mount a tmpfs here",
    # a Linux without PulseAudio's client library (a bare server image): the two music playback
    # tests (.ci/run installs libpulse0 where it can, so CI plays); a missing PySide6-Addons is no excuse
    r"^no audio playback \(libpulse\.so",
)


def strict() -> bool:
    return os.environ.get(STRICT_VAR, "").strip() not in ("", "0")


def allowed_by(reason: str) -> str | None:
    """The allow-list pattern that accepts ``reason``, or None."""
    return next((p for p in ALLOWED_SKIPS if re.search(p, reason)), None)


@dataclass(frozen=True)
class Skip:
    nodeid: str
    reason: str
    pattern: str | None


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    if getattr(report, "wasxfail", None) is not None:
        return f"xfail: {report.wasxfail}"  # type: ignore[union-attr]
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return str(text).removeprefix("Skipped: ")


class SkipPolicy:
    """Collects the skips of one session; fails it where one is not allowed."""

    def __init__(self) -> None:
        self.skips: list[Skip] = []

    def _record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if report.skipped:
            reason = _reason(report)
            self.skips.append(Skip(report.nodeid, reason, allowed_by(reason)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._record(report)

    @property
    def refused(self) -> list[Skip]:
        return [s for s in self.skips if s.pattern is None]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.refused and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        counts = f"{len(self.skips)} skipped, {len(self.refused)} not allowed"
        tr.write_sep("=", f"skip policy ({STRICT_VAR}=1): {counts}")
        tr.write_line("allowed skip reasons (tests/skip_policy.py):")
        for pattern in ALLOWED_SKIPS:
            tr.write_line(f"  {pattern}")
        for skip in self.skips:
            verdict = f"allowed ({skip.pattern})" if skip.pattern else "NOT ALLOWED"
            tr.write_line(f"{verdict}: {skip.nodeid}: {skip.reason}", red=skip.pattern is None)
        if self.refused:
            tr.write_line(
                f"FAILED: {len(self.refused)} skip(s) for reasons not on the allow-list: make the test run "
                "here (install what it needs), or fix the skip",
                red=True,
                bold=True,
            )


def register(config: pytest.Config) -> None:
    if strict() and not config.pluginmanager.has_plugin("morphapp-skip-policy"):
        config.pluginmanager.register(SkipPolicy(), "morphapp-skip-policy")


def pytest_configure(config: pytest.Config) -> None:  # as ``-p tests.skip_policy``
    register(config)
