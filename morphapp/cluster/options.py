"""What a distributed render is asked for: how many workers, which cluster, how many frames a chunk.

:class:`ClusterOptions` comes from the CLI's ``--workers`` / ``--ray-address`` or from the
window's cluster setting (:func:`parse_cluster`). Only a parser: importing this module imports
neither Ray nor torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from morphapp.errors import InputError

__all__ = ["ClusterOptions", "parse_cluster"]


@dataclass(frozen=True)
class ClusterOptions:
    """``workers``: actors to start (local: a Ray instance of that many; with ``address``: at most
    that many); ``address``: a running cluster's ``host:port`` (``ray start --head`` prints it)."""

    workers: int | None = None
    address: str | None = None
    chunk: int | None = None  # frames per chunk (default: from the frame and worker counts)

    def validate(self) -> None:
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise InputError(f"--workers {self.workers}: give 1 or more")
        if self.chunk is not None and self.chunk < 1:
            raise InputError(f"chunk {self.chunk}: give 1 or more frames")


def parse_cluster(text: str) -> ClusterOptions:
    """The window's cluster setting: ``local:N`` (a Ray instance of N workers on this machine) or a
    running cluster's ``HOST:PORT`` (what ``ray start --head`` prints)."""
    value = text.strip()
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 1024:
            raise InputError(f"{value!r}: local:N needs a number of workers, 1 or more (e.g. local:2)")
        return ClusterOptions(workers=int(count))
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"{value!r}: give local:N or a Ray cluster's HOST:PORT (e.g. 192.168.1.20:6379)")
    return ClusterOptions(address=value)
