"""The kit against a server a pytest fixture starts: the documented pattern.

``conformance_test`` builds a test class at import time, before any fixture exists, so
its factory cannot see a fixture's value. For a server a fixture starts on a free port,
call :func:`runstate.testing.run_conformance` inside an ordinary test function instead:
the factory is a closure over the fixture's value, and ``raise_if_failed()`` fails the
test with every divergence (docs/conformance.md, "A server a fixture starts").
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from http_reference_server import HttpAdapter, serve
from hypothesis import HealthCheck, settings

from runstate.testing import run_conformance


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The reference server on 127.0.0.1 and a free port; stopped after the module."""
    httpd = serve()
    host, port = httpd.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_server_listens_on_loopback_and_a_free_port(base_url: str) -> None:
    assert base_url.startswith("http://127.0.0.1:")
    assert not base_url.endswith(":0")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{base_url}/v1/nothing", timeout=5)
    assert info.value.code == 404


def test_the_server_a_fixture_started_conforms(base_url: str) -> None:
    report = run_conformance(
        lambda: HttpAdapter(base_url),
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    report.raise_if_failed()
    assert report.ok
    assert report.reach[("start", "queued")][0] > 0
