"""A Ray instance of this machine alone (never another address), started for the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    import ray  # the [test] extra installs it: missing is a failure here, not a skip

    assert not ray.is_initialized()
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield ray
    finally:
        ray.shutdown()
