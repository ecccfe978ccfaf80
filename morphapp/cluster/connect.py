"""Reaching Ray: importing it, with install advice when the extra is missing, and one quick look
at a cluster's address before Ray's own connection retries (which take a minute to fail).
"""

from __future__ import annotations

import socket
from typing import Any

from morphapp.errors import InputError, ModelError

__all__ = ["CONNECT_TIMEOUT_S", "check_reachable", "import_ray"]

CONNECT_TIMEOUT_S = 3.0


def import_ray() -> Any:
    """The ``ray`` module, imported only when a render runs on it (it is an optional extra)."""
    try:
        import ray
    except ImportError as exc:
        raise ModelError(
            "--workers / --ray-address render on Ray, which is not installed; install it with: "
            "pip install 'morphapp[cluster]'"
        ) from exc
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """One TCP look at a cluster's address before Ray's own retries (which take a minute)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"--ray-address {address}: expected HOST:PORT (ray start --head prints it)")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"--ray-address {address}: cannot reach a Ray cluster there ({reason}); start one with "
            "`ray start --head` and give the address it prints"
        ) from exc
