"""The hypothesis profiles (tests/conftest.py) cannot fail a test for the machine's speed.

CI runs on a loaded 2-core machine: nothing a test checks may depend on wall time.
"""

from __future__ import annotations

import hypothesis.internal.conjecture.engine as engine
import pytest
from conftest import DEFAULT_PROFILE, SHRINK_BOUND, asked_for
from hypothesis import HealthCheck, settings


@pytest.mark.parametrize("name", ["quick", "ci", "dev"])
def test_no_profile_has_a_deadline_or_the_too_slow_check(name: str) -> None:
    profile = settings.get_profile(name)
    assert profile.deadline is None
    assert HealthCheck.too_slow in profile.suppress_health_check


def test_the_ci_profile_is_deterministic_and_bounded() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize is True
    assert ci.database is None
    assert ci.max_examples <= 100


def test_the_readme_commands_profile_is_deterministic_and_smaller_than_ci() -> None:
    """The README's test command runs without HYPOTHESIS_PROFILE: the same few examples
    every time (issue 18: the whole suite in about a minute); CI runs more."""
    quick, ci = settings.get_profile(DEFAULT_PROFILE), settings.get_profile("ci")
    assert DEFAULT_PROFILE == "quick"
    assert quick.derandomize is True
    assert quick.database is None
    assert quick.max_examples < ci.max_examples


@pytest.mark.parametrize(
    ("marker", "expression", "environ", "wanted"),
    [
        ("slow", "", {}, False),
        ("slow", "", {"RUNSTATE_TEST_SLOW": "1"}, True),
        ("slow", "", {"RUNSTATE_TEST_SLOW": ""}, False),
        ("slow", "", {"RUNSTATE_TEST_KIT_SEARCH": "1"}, False),
        ("slow", "slow", {}, True),
        ("slow", "slow or kit_search", {}, True),
        ("slow", "not server_slow", {}, False),  # another marker's name
        ("slow", "server_slow", {}, False),
        ("kit_search", "", {"RUNSTATE_TEST_KIT_SEARCH": "1"}, True),
        ("kit_search", "kit_search", {}, True),
        ("kit_search", "slow", {}, False),
    ],
)
def test_slow_tests_run_only_where_asked_for(
    marker: str, expression: str, environ: dict[str, str], wanted: bool
) -> None:
    assert asked_for(marker, expression, environ) is wanted


def test_shrinking_is_not_cut_short_by_a_slow_machine() -> None:
    """Hypothesis' own bound (300 s) was reached by the kit's searches on a loaded
    machine, and a half-shrunk divergence fails test_conformance's minimality checks
    (reproduced with the bound at 1 s)."""
    assert engine.MAX_SHRINKING_SECONDS >= SHRINK_BOUND >= 1800
