"""Shared test configuration: hypothesis profiles and the real-world recordings.

``RUNSTATE_TEST_DECODER=json`` reads run text with the standard library only, even when
orjson (the fast extra) is installed.

Profiles (pick one with ``HYPOTHESIS_PROFILE``, default ``dev``):

``ci``
    Deterministic and quick: derandomized, no example database, no deadline, no
    too-slow health check, fewer examples, and a reproduction blob printed on failure.

In both, shrinking a failure is bounded by half an hour instead of hypothesis' five
minutes, so that a slow machine does not change what a search reports (see
``SHRINK_BOUND``).
``dev``
    Hypothesis' defaults (random, with the local example database), but no deadline and
    no too-slow health check: the README's test command runs on any machine, busy ones
    included, and a test that is merely slow there is not a failure.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import hypothesis.internal.conjecture.engine as _engine
import pytest
from hypothesis import HealthCheck, settings
from realworld import REAL_WORLD, REAL_WORLD_ABSENT, SEED, SEED_ABSENT

if TYPE_CHECKING:
    from pathlib import Path

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=True,
    # Bounded and deterministic already; a loaded machine must not fail a test for being
    # slow to generate examples (attrs' "patience" profile does the same).
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: Hypothesis stops shrinking a failure after 5 minutes of wall time and reports it half
#: shrunk. The conformance kit's searches shrink for 40 s on a quiet machine and came to
#: 300 s on a loaded one: what they find (how few steps, which operation first) then
#: depended on the machine's speed. Shrinking ends by itself (no smaller example, or
#: hypothesis' 500 shrinks); this bound only stops a hang. Hypothesis keeps it a module
#: constant so that it can be patched ("for the rare users who need to keep on shrinking").
SHRINK_BOUND = 1800
_engine.MAX_SHRINKING_SECONDS = max(_engine.MAX_SHRINKING_SECONDS, SHRINK_BOUND)

# RUNSTATE_TEST_DECODER=json runs the tests on the standard library's JSON path even where
# the fast extra (orjson) is installed; CI runs the parsing tests both ways.
if os.environ.get("RUNSTATE_TEST_DECODER") == "json":
    from runstate._engine import serde as _serde

    _serde.fast_loads = None


@pytest.fixture
def real_world() -> Path:
    """The ``../shared/real-world`` folder; skips the test when it is absent."""
    if not REAL_WORLD.is_dir():
        pytest.skip(REAL_WORLD_ABSENT)
    return REAL_WORLD


@pytest.fixture
def seed_path() -> Path:
    """The seed document holding the example response; skips the test when absent."""
    if not SEED.is_file():
        pytest.skip(SEED_ABSENT)
    return SEED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The conformance kit's longest searches (``kit_search``) run where CI asks for them.

    ``RUNSTATE_TEST_KIT_SEARCH=1`` (set by ``.ci/run`` for a step of their own) or
    ``-m kit_search`` runs them; otherwise they are skipped, visibly.
    """
    wanted = os.environ.get("RUNSTATE_TEST_KIT_SEARCH") or "kit_search" in (
        config.getoption("-m") or ""
    )
    if wanted:
        return
    skip = pytest.mark.skip(reason="a long conformance search: RUNSTATE_TEST_KIT_SEARCH=1 runs it")
    for item in items:
        if "kit_search" in item.keywords:
            item.add_marker(skip)
