"""Is a download server reachable at all? One bounded look before a download starts.

An offline machine should hear so at once, not after a library's retries with back-off. We
resolve the host and open one TCP connection (to the proxy, when one is configured for the
URL), all within ``timeout`` seconds; a name lookup that hangs is abandoned on a daemon thread.
Reachable says nothing about the files: the download still reports a missing one itself.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_S = 2.0


def unreachable(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
    """None when a TCP connection to ``url``'s server (or its proxy) opens in time, else why not."""
    target = urlsplit(url)
    host, port = target.hostname, target.port
    if not host:
        return f"{url} is not a URL"
    port = port or (443 if target.scheme == "https" else 80)
    proxy = _proxy_for(url, target.scheme)
    if proxy is not None:
        proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxied.hostname:
            host, port = proxied.hostname, proxied.port or 80
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except socket.gaierror:
            outcome.append(f"cannot look up {host}")
        except OSError as exc:
            outcome.append(f"cannot connect to {host}:{port}: {exc.strerror or exc}")

    worker = threading.Thread(target=probe, name="reachability", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"no answer from {host} within {timeout:g} s"
    return outcome[0]


def _proxy_for(url: str, scheme: str) -> str | None:
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)
