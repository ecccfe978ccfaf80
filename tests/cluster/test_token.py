"""The local Ray instance that ``--workers N`` starts refuses a driver without its token (issue 25).

A Ray cluster runs whatever code a connected driver sends it; Ray >= 2.59 (the cluster extra's
floor) makes a token for the local instances it starts and checks it on every connection. Here an
outsider on this machine (its own home, so not the token file Ray wrote; no RAY_* variables)
tries ``ray.init(address=...)`` against the instance morphapp started, as do a driver with a
guessed token and, as the control, one with the instance's token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from morphapp.cluster.options import ClusterOptions
from morphapp.cluster.ray_runner import ClusterRender
from morphapp.engine import EngineOptions
from morphapp.models.info import ModelInfo

PROBE = """
import sys
import ray
try:
    ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
except Exception as exc:  # ConnectionError, from the GCS's answer (an AuthenticationError)
    print(f"REFUSED {type(exc.__cause__ or exc).__name__}: {exc.__cause__ or exc}")
    sys.exit(3)
print("CONNECTED", ray.cluster_resources().get("CPU"))
"""
# Ray's driver tries the address once a second, 20 times, before it gives up: once is enough here.
ONE_TRY = {"RAY_gcs_server_port_wait_time_s": "1"}


def _driver(address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, address], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_local_instance_refuses_a_driver_without_its_token(taef2_info: ModelInfo, tmp_path: Path) -> None:
    import ray

    assert not ray.is_initialized()
    options = EngineOptions(backend="torch", precision="fp32")
    with ClusterRender(taef2_info, options, ClusterOptions(workers=1)) as render:
        assert render._started_ray  # the instance --workers starts, not the caller's own
        address = ray.get_runtime_context().gcs_address
        outsider = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        outsider |= {"HOME": str(tmp_path), **ONE_TRY}  # no ~/.ray/auth_token there
        refused = _driver(address, outsider)
        guessed = _driver(address, outsider | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 32})
        # this process's environment (ray.init set RAY_AUTH_MODE=token in it) and home: the token
        joined = _driver(address, {**os.environ, **ONE_TRY})
    assert not ray.is_initialized()  # stopped with the render
    for done in (refused, guessed):
        assert done.returncode == 3, done.stdout + done.stderr
        assert done.stdout.startswith("REFUSED"), done.stdout
        assert "InvalidAuthToken: Authentication token is missing or incorrect" in done.stdout, done.stdout
    assert joined.returncode == 0 and "CONNECTED 1.0" in joined.stdout, joined.stdout + joined.stderr
