"""Shared test configuration: hypothesis profiles, slow tests and the real-world recordings.

``RUNSTATE_TEST_DECODER=json`` reads run text with the standard library only, even when
orjson (the fast extra) is installed.

Profiles (pick one with ``HYPOTHESIS_PROFILE``, default ``quick``):

``quick``
    The README's test command: deterministic and small (derandomized, no example
    database, :data:`QUICK_EXAMPLES` examples a test), so that the whole suite runs in
    about a minute on an idle 2-core machine (``benchmarks/readme_tests.py`` measures
    it). Tests that set their own example counts keep them.
``ci``
    What ``.ci/run`` uses: deterministic and thorough enough, 50 examples a test,
    derandomized, no example database, and a reproduction blob printed on failure.
``dev``
    Hypothesis' defaults (random, 100 examples, with the local example database), to
    explore: ``HYPOTHESIS_PROFILE=dev python -m pytest``.

None has a deadline or the too-slow health check: a test that is merely slow on a busy
machine is not a failure. In all, shrinking a failure is bounded by half an hour instead
of hypothesis' five minutes, so that a slow machine does not change what a search
reports (see ``SHRINK_BOUND``).

Tests marked ``slow`` (long fixed searches and surveys whose settings do not follow the
profile, long measurements) and ``kit_search`` (the conformance kit's longest searches)
are skipped, visibly, unless asked for: ``RUNSTATE_TEST_SLOW=1`` /
``RUNSTATE_TEST_KIT_SEARCH=1`` (``.ci/run`` sets both, each in a step of its own) or
``-m slow`` / ``-m kit_search``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import hypothesis.internal.conjecture.engine as _engine
import pytest
from hypothesis import HealthCheck, settings
from realworld import REAL_WORLD, REAL_WORLD_ABSENT, SEED, SEED_ABSENT

if TYPE_CHECKING:
    from collections.abc import Mapping
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
#: Examples a test under the ``quick`` profile (the README's test command).
QUICK_EXAMPLES = 10
settings.register_profile(
    "quick", settings.get_profile("ci"), max_examples=QUICK_EXAMPLES, print_blob=True
)
#: The profile the README's test command runs under (no ``HYPOTHESIS_PROFILE``).
DEFAULT_PROFILE = "quick"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", DEFAULT_PROFILE))

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


#: Markers whose tests run only when asked for: marker -> (variable, why it is skipped).
OPT_IN = {
    "slow": ("RUNSTATE_TEST_SLOW", "a slow test, left out of the README's command"),
    "kit_search": ("RUNSTATE_TEST_KIT_SEARCH", "a long conformance search"),
}


def asked_for(marker: str, expression: str, environ: Mapping[str, str]) -> bool:
    """Whether a run asks for the tests marked ``marker`` (one of :data:`OPT_IN`).

    Its variable set non-empty, or its name in the ``-m`` expression as a whole word
    (``-m 'not server_slow'`` does not name ``slow``; ``-m 'not slow'`` deselects them).
    """
    variable = OPT_IN[marker][0]
    return bool(environ.get(variable)) or re.search(rf"\b{marker}\b", expression) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` or ``kit_search`` run only where they are asked for.

    ``RUNSTATE_TEST_SLOW=1`` / ``RUNSTATE_TEST_KIT_SEARCH=1`` (``.ci/run`` sets them) or
    ``-m slow`` / ``-m kit_search`` runs them; otherwise they are skipped, visibly.
    """
    expression = config.getoption("-m") or ""
    for marker, (variable, why) in OPT_IN.items():
        if asked_for(marker, expression, os.environ):
            continue
        skip = pytest.mark.skip(reason=f"{why}: {variable}=1 runs it")
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(skip)
