"""The skip policy CI runs under (tests/skip_policy.py): an unlisted skip fails the session."""

from __future__ import annotations

import pytest

from tests import skip_policy
from tests.skip_policy import ALLOWED_SKIPS, STRICT_VAR, allowed_by

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, strict: bool) -> pytest.RunResult:
    if strict:
        pytester._monkeypatch.setenv(STRICT_VAR, "1")
    else:
        pytester._monkeypatch.delenv(STRICT_VAR, raising=False)
    # plugins=: as ``-p tests.skip_policy`` does
    return pytester.runpytest("-p", "no:cacheprovider", "-q", plugins=[skip_policy])


def test_a_skip_not_on_the_allow_list_fails_the_session_and_is_printed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_one="""
        import pytest

        def test_runs():
            pass

        def test_needs_a_tool():
            pytest.skip("the frobnicator is not installed")

        def test_bf16():
            pytest.skip("this CPU has no fast bf16: nothing to switch to")
        """,
        test_two="""
        import pytest

        pytest.importorskip("no_such_module_for_the_skip_policy")

        def test_never_collected():
            pass
        """,
    )
    result = _run(pytester, strict=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            f"*skip policy ({STRICT_VAR}=1): 3 skipped, 2 not allowed*",
            "NOT ALLOWED: test_two.py: could not import 'no_such_module_for_the_skip_policy'*",  # collection
            "NOT ALLOWED: test_one.py::test_needs_a_tool: the frobnicator is not installed",
            "allowed (^this CPU has no fast bf16): test_one.py::test_bf16: this CPU has no fast bf16*",
            "FAILED: 2 skip(s) for reasons not on the allow-list*",
        ]
    )
    # without the variable (a developer's run) the same skips are only skips
    relaxed = _run(pytester, strict=False)
    assert relaxed.ret == pytest.ExitCode.OK
    assert "skip policy" not in relaxed.stdout.str()


def test_allowed_skips_pass_and_are_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        import pytest

        def test_runs():
            pass

        @pytest.mark.skipif(sys.platform != "no-such-os", reason="needs POSIX signals (SIGKILL)")
        def test_signals():
            pass

        def test_mount():
            pytest.skip("cannot mount a tmpfs here (mount: permission denied)")
        """
    )
    result = _run(pytester, strict=True)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*skip policy*: 2 skipped, 0 not allowed*",
            "allowed (POSIX*): *::test_signals: needs POSIX signals (SIGKILL)",
            "allowed (^cannot mount a tmpfs here): *::test_mount: cannot mount a tmpfs here (mount: *",
        ]
    )


@pytest.mark.parametrize(
    ("reason", "allowed"),
    [
        ("needs POSIX signals (SIGKILL)", True),
        ("SIGINT to a child process is POSIX", True),
        ("RLIMIT_FSIZE is POSIX", True),
        ("offscreen Qt, Linux", True),
        ("read-only folders by permission bits are POSIX", True),
        ("Intel macOS has no ai-edge-litert wheel, so no face models", True),
        ("could not import 'ai_edge_litert': No module named 'ai_edge_litert'", False),
        ("this CPU has no fast bf16: auto has nothing to switch to without an ONNX export", True),
        ("this onnxruntime has CUDA", True),
        ("no CUDA GPU here", True),
        ("no CUDA GPU here: the memory cap is CUDA's", True),
        ("CUDA not built into this torch", False),
        ("cannot mount a tmpfs here (mount: only root can do that)", True),
        ("could not import 'ray': No module named 'ray'", False),
        ("no audio playback (libpulse.so.0: cannot open shared object file)", True),  # a bare Linux
        (
            "no audio playback (No module named 'PySide6.QtMultimedia'): pip install",
            False,
        ),  # the extra has it
        ("desktop-file-utils not installed", False),
        ("test photos not found at ../shared/testdata/pairs", False),
        ("one candidate on this CPU (no bf16, no onnxruntime): nothing to calibrate", False),
    ],
)
def test_the_allow_list_holds_platform_reasons_only(reason: str, allowed: bool) -> None:
    assert (allowed_by(reason) is not None) == allowed
    assert len(ALLOWED_SKIPS) <= 6  # short, and read in CI's output
