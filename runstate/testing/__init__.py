"""A conformance kit: check another implementation of the Runs API against runstate.

Any implementation of the Assistants Runs endpoints (a server behind HTTP, an in-process
mock, a fake in another library's test suite) plugs its operations into the small
:class:`Implementation` protocol and gets a survey driven by hypothesis::

    from runstate.testing import conformance_test, run_conformance

    TestMyServer = conformance_test(MyAdapter)   # collected by pytest or unittest
    report = run_conformance(MyAdapter, seed=1, max_examples=200)   # anywhere else

The kit creates runs, retrieves, cancels and submits tool outputs in random orders, and
plays the server's worker through :meth:`Implementation.drive` (start, require action,
complete, fail, mark incomplete, finish a cancel, expire). Every response is checked
against runstate itself, applied to the last response seen for that run: the HTTP status,
the run's new status, every field (unknown fields included), the per-status rules, the
exact refusal payloads, and the thread lock.

Every way to differ has a stable, kebab-case name, a grade and the evidence behind it
(:data:`RULES`). One survey reports every distinct divergence, each with the minimal
program hypothesis shrank it to: a divergence found is noted, tolerated, and the search
goes on for the next. Known divergences can be accepted by name; they are still counted.
The survey also measures how often each (operation, status) pair was reached.

This module needs hypothesis (``pip install runstate[test]``); ``import runstate`` does
not import it. See ``docs/conformance.md`` for a walk-through, adapters and the list of
what is and is not checked.
"""

# The package's layout follows the kit's parts:
#   _engine       the search-and-report loop, generic: rules, failures, divergences, the
#                 machine base class and the searches (reused by any other machine)
#   _adapters     the plug: HttpResponse, Step, the Implementation protocol
#   _run_rules    the rules about runs and their checks
#   _step_rules   the rules about run steps and their checks
#   _state        what one test case holds
#   _conformance  the hypothesis program and the entry points
#   _report       the report, and how every message shows what came back

from ._adapters import STEP_KINDS, HttpResponse, Implementation, Response, Step, StepKind
from ._conformance import RULES, STEP_RULES, conformance_test, run_conformance
from ._engine import ConformanceFailure, Divergence, Evidence, Grade, Rule
from ._report import REACH_OPERATIONS, ConformanceReport, DivergencesFound
from ._response_rules import (
    DRIVE_KINDS,
    RESPONSE_RULES,
    DriveKind,
    ResponsesImplementation,
    ResponseStep,
)
from ._responses import (
    RESPONSE_REACH_OPERATIONS,
    ResponseConformanceReport,
    response_conformance,
    response_conformance_test,
)
from ._responses_http import ResponsesThroughSDK, survey_responses_url
from ._run_rules import DEFAULT_ASSISTANT_ID

__all__ = [
    "DEFAULT_ASSISTANT_ID",
    "DRIVE_KINDS",
    "REACH_OPERATIONS",
    "RESPONSE_REACH_OPERATIONS",
    "RESPONSE_RULES",
    "RULES",
    "STEP_KINDS",
    "STEP_RULES",
    "ConformanceFailure",
    "ConformanceReport",
    "Divergence",
    "DivergencesFound",
    "DriveKind",
    "Evidence",
    "Grade",
    "HttpResponse",
    "Implementation",
    "Response",
    "ResponseConformanceReport",
    "ResponseStep",
    "ResponsesImplementation",
    "ResponsesThroughSDK",
    "Rule",
    "Step",
    "StepKind",
    "conformance_test",
    "response_conformance",
    "response_conformance_test",
    "run_conformance",
    "survey_responses_url",
]
