"""``morphapp render --workers / --ray-address`` from the outside: Ctrl+C, a cluster that is not there,
Ray not installed. Each gives one line, exits as documented, and leaves nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import SIZE, cli_env, start_cli, temp_frames, wait_until


def _ray_processes() -> set[int]:
    """PIDs of Ray's own daemons (raylet, gcs_server) on this machine."""
    found = subprocess.run(["pgrep", "-f", "raylet|gcs_server"], capture_output=True, text=True).stdout
    return {int(pid) for pid in found.split()}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_stops_a_ray_render_writes_nothing_and_stops_its_ray_instance(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    before = _ray_processes()
    target = tmp_path / "frames"
    keys = (pairs_dir / "cat.png", pairs_dir / "dog.png")
    proc = start_cli("render", *keys, "-o", target, "--size", SIZE, "--frames", "400", "--workers", "2", "-q",
                     cwd=tmp_path, env=cli_env(model_path_env))  # fmt: skip
    wait_until(lambda: len(temp_frames(target)) >= 1, proc)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "morphapp: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 30
    while _ray_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes() - before, "the Ray instance the render started is still running"


def test_an_unreachable_cluster_is_one_line_and_nothing_starts(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    with socket_closed() as port:
        result = subprocess.run(
            [sys.executable, "-m", "morphapp", "render", pairs_dir / "cat.png", pairs_dir / "dog.png",
             "-o", tmp_path / "m.mp4", "--ray-address", f"127.0.0.1:{port}", "-q"],
            capture_output=True, text=True, env=cli_env(model_path_env), timeout=120,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"morphapp: error: --ray-address 127.0.0.1:{port}: cannot reach a Ray cluster there (Connection "
        "refused); start one with `ray start --head` and give the address it prints"
    )
    assert list(tmp_path.iterdir()) == []


def test_without_ray_installed_workers_say_how_to_get_it(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if the cluster extra were not installed
        "from morphapp.cli.main import main\n"
        f"raise SystemExit(main(['render', {str(pairs_dir / 'cat.png')!r}, {str(pairs_dir / 'dog.png')!r}, "
        f"'-o', {str(tmp_path / 'm.mp4')!r}, '--workers', '2', '-q']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(model_path_env), timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "morphapp: error: --workers / --ray-address render on Ray, which is not installed; install it "
        "with: pip install 'morphapp[cluster]'"
    )
    assert list(tmp_path.iterdir()) == []


class socket_closed:
    """A local TCP port that nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *_exc: object) -> None:
        return None


def test_device_cuda_is_the_workers_choice_not_the_drivers(
    tmp_path: Path, pairs_dir: Path, model_path_env: str
) -> None:
    """A CPU-only head may drive GPU workers: --device cuda is checked where the frames are made.
    Here no worker has a GPU either, so the one line comes from the worker that tried."""
    keys = (pairs_dir / "cat.png", pairs_dir / "dog.png")
    proc = start_cli("render", *keys, "-o", tmp_path / "m.gif", "--size", SIZE, "--frames", "3",
                     "--workers", "1", "--device", "cuda", "-q", cwd=tmp_path,
                     env=cli_env(model_path_env))  # fmt: skip
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("morphapp: error: a Ray worker could not open") and "no CUDA GPU" in last, last
    assert not (tmp_path / "m.gif").exists()
