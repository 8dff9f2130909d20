"""Each public name is exported from one namespace, and 0.1's names still import.

The rule (docs/reference.md, "Where each name lives"): a public object is in exactly one
public module's ``__all__``. Names that 0.1 exported from two or three places stay
importable from each of them; :data:`PUBLISHED` is that compatibility contract, the
``__all__`` of every public module at 0.1 (commit 44bef64), copied here once.
"""

from __future__ import annotations

import importlib
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The public modules; ``runstate.strategies`` and ``runstate.testing`` need hypothesis.
NAMESPACES: Final = (
    "runstate",
    "runstate.models",
    "runstate.steps",
    "runstate.toolkit",
    "runstate.responses",
    "runstate.strategies",
    "runstate.testing",
)

#: Every public module's ``__all__`` at 0.1 (``git show 44bef64:runstate/<module>.py``).
PUBLISHED: Final = {
    "runstate": [
        "RunStatus",
        "TERMINAL_STATUSES",
        "ACTIVE_STATUSES",
        "CANCELLABLE_STATUSES",
        "TRANSITIONS",
        "EDGES",
        "Edge",
        "can_transition",
        "can_reach",
        "machine",
        "Run",
        "parse_run",
        "dump_run",
        "converter",
        "configure_converter",
        "new_run",
        "start",
        "require_action",
        "submit_tool_outputs",
        "ToolOutput",
        "cancel",
        "check_cancel",
        "CancelDecision",
        "finish_cancel",
        "complete",
        "fail",
        "mark_incomplete",
        "expire",
        "update_metadata",
        "ensure_can_create_run",
        "ensure_can_add_message",
        "ensure_can_delete_thread",
        "DEFAULT_EXPIRES_IN",
        "violations",
        "validate",
        "Violation",
        "check_trace",
        "TraceChecker",
        "TraceReport",
        "TraceProblem",
        "parse_sse",
        "Error",
        "InvalidRun",
        "FieldError",
        "InvalidArgument",
        "InvalidTable",
        "ClockWentBackwards",
        "TransitionError",
        "APIError",
        "CancelNotAllowed",
        "ToolOutputsRejected",
        "RunNotModifiable",
        "ThreadBusy",
        "InvalidRequest",
        "NotFound",
        "not_found",
        "parse_create_run",
        "parse_create_thread_and_run",
        "parse_create_assistant",
        "parse_create_thread",
        "parse_submit_tool_outputs",
        "parse_modify_run",
        "parse_create_message",
        "parse_modify_assistant",
        "parse_modify_thread",
        "parse_modify_message",
        "parse_list_runs",
        "parse_list_messages",
        "list_page",
        "stream_events",
        "encode_sse",
        "RunStep",
        "StepStatus",
        "StepTransitionError",
        "parse_step",
        "dump_step",
        "advance",
        "models",
        "responses",
        "steps",
        "toolkit",
        "__version__",
    ],
    "runstate.models": [
        "format_exception",
        "CodeInterpreterToolCall",
        "FileSearchToolCall",
        "FunctionToolCall",
        "Message",
        "MessageCreation",
        "MessageCreationDetails",
        "MessageIncompleteDetails",
        "MessageIncompleteReason",
        "MessageStatus",
        "RunStep",
        "StepDetails",
        "StepErrorCode",
        "StepFunction",
        "StepLastError",
        "StepStatus",
        "StepToolCall",
        "StepType",
        "ToolCallsDetails",
        "Run",
        "RequiredAction",
        "SubmitToolOutputs",
        "ToolCall",
        "FunctionCall",
        "LastError",
        "LastErrorCode",
        "IncompleteDetails",
        "IncompleteReason",
        "Usage",
        "TruncationStrategy",
        "TruncationType",
        "Tool",
        "CodeInterpreterTool",
        "FileSearchTool",
        "FileSearchOptions",
        "RankingOptions",
        "Ranker",
        "FunctionTool",
        "FunctionDefinition",
        "ResponseFormat",
        "ResponseFormatText",
        "ResponseFormatJsonObject",
        "ResponseFormatJsonSchema",
        "JsonSchema",
        "ToolChoiceOption",
        "ToolChoiceMode",
        "ToolChoice",
        "ToolChoiceFunction",
        "ToolChoiceType",
        "FrozenDict",
        "FrozenList",
        "MAX_JSON_DEPTH",
        "parse_value",
        "dump_value",
        "PRESENCE",
        "Presence",
        "Severity",
    ],
    "runstate.steps": [
        "RunStep",
        "StepStatus",
        "StepTransitionError",
        "parse_step",
        "dump_step",
        "advance",
        "Message",
        "STEP_TRANSITIONS",
        "STEP_EDGES",
        "StepEdge",
        "RUN_END_EFFECTS",
        "RunEndEffect",
        "RunLife",
        "parse_message",
        "dump_message",
        "step_violations",
        "message_violations",
        "open_message_step",
        "open_tool_calls_step",
        "complete_step",
        "attach_tool_outputs",
        "open_message",
        "complete_message",
        "mark_message_incomplete",
        "write_message_text",
    ],
    "runstate.toolkit": [
        "InvalidRequest",
        "NotFound",
        "not_found",
        "parse_create_run",
        "parse_create_thread_and_run",
        "parse_create_assistant",
        "parse_create_thread",
        "parse_json_body",
        "parse_submit_tool_outputs",
        "parse_modify_run",
        "parse_create_message",
        "parse_modify_assistant",
        "parse_modify_thread",
        "parse_modify_message",
        "parse_list_runs",
        "parse_list_messages",
        "list_page",
        "stream_events",
        "encode_sse",
        "CreateRun",
        "CreateAssistant",
        "CreateThread",
        "SubmitToolOutputsRequest",
        "ModifyRun",
        "CreateMessage",
        "ModifyAssistant",
        "ModifyThread",
        "ModifyMessage",
        "ListRuns",
        "ListMessages",
        "run_json",
        "error_json",
        "check_beta_header",
        "check_id",
    ],
    "runstate.responses": [
        "Response",
        "ResponseStatus",
        "ResponseError",
        "ResponseIncompleteDetails",
        "IncompleteReason",
        "TERMINAL",
        "parse_response",
        "dump_response",
        "TABLE",
        "TRANSITIONS",
        "INITIAL",
        "ResponseEdge",
        "CANCEL_RACE",
        "CancelRace",
        "can_transition",
        "can_reach",
        "new_response",
        "start",
        "complete",
        "fail",
        "mark_incomplete",
        "cancel",
        "check_cancel",
        "ensure_can_delete",
        "deleted",
        "violations",
        "PRESENCE",
        "parse_create_response",
        "parse_retrieve_query",
        "CreateResponse",
        "RetrieveQuery",
        "CancelRefused",
        "DeleteRefused",
        "InvalidResponse",
        "InvalidResponseRequest",
        "ResponseNotFound",
        "ResponseTransitionError",
        "not_found",
        "stream_events",
        "replay",
        "check_trace",
        "ResponseTraceChecker",
        "FROM_RUNS",
        "RunMapping",
        "response_event",
        "LIFECYCLE",
    ],
    "runstate.strategies": [
        "lives",
        "run_payloads",
        "runs",
        "statuses",
        "traces",
        "response_lives",
        "responses",
    ],
    "runstate.testing": [
        "DEFAULT_ASSISTANT_ID",
        "REACH_OPERATIONS",
        "RULES",
        "STEP_KINDS",
        "STEP_RULES",
        "ConformanceFailure",
        "ConformanceReport",
        "Divergence",
        "DivergencesFound",
        "Evidence",
        "Grade",
        "HttpResponse",
        "Implementation",
        "Response",
        "Rule",
        "Step",
        "StepKind",
        "conformance_test",
        "run_conformance",
    ],
}


def _all(module_name: str) -> list[str]:
    return list(importlib.import_module(module_name).__all__)


def test_the_contract_covers_every_public_module() -> None:
    assert set(PUBLISHED) == set(NAMESPACES)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(NAMESPACES, 2)))
def test_no_public_object_is_in_two_namespaces(first: str, second: str) -> None:
    """A name in two ``__all__``s names two objects (``runstate.start`` is not the
    Responses machine's ``start``), never one object twice."""
    a, b = importlib.import_module(first), importlib.import_module(second)
    twice = sorted(
        name for name in set(a.__all__) & set(b.__all__) if getattr(a, name) is getattr(b, name)
    )
    assert twice == [], f"exported from both {first} and {second}"


def test_every_all_lists_each_name_once_and_only_names_that_exist() -> None:
    for module_name in NAMESPACES:
        module = importlib.import_module(module_name)
        names = _all(module_name)
        assert len(names) == len(set(names)), module_name
        assert [n for n in names if not hasattr(module, n)] == [], module_name


@pytest.mark.parametrize("module_name", NAMESPACES)
def test_every_name_0_1_exported_still_imports_from_there(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in PUBLISHED[module_name]:
        namespace: dict[str, object] = {}
        exec(f"from {module_name} import {name}", namespace)
        assert namespace[name] is getattr(module, name), name


def _homes(name: str, obj: object) -> list[str]:
    return [
        m
        for m in NAMESPACES
        if name in _all(m) and getattr(importlib.import_module(m), name) is obj
    ]


def _compatibility_names() -> list[tuple[str, str]]:
    """(module, name) pairs 0.1 exported that the module's ``__all__`` no longer lists."""
    return [
        (module_name, name)
        for module_name in NAMESPACES
        for name in PUBLISHED[module_name]
        if name not in _all(module_name)
    ]


def test_a_name_left_out_of_an_all_is_exported_from_its_one_namespace() -> None:
    """A name taken out of a second ``__all__`` was moved, never dropped: the same object
    is in exactly one other ``__all__``."""
    pairs = _compatibility_names()
    assert pairs, "the 0.1 duplicates are gone, so some names left a second __all__"
    for module_name, name in pairs:
        obj = getattr(importlib.import_module(module_name), name)
        assert len(_homes(name, obj)) == 1, (module_name, name)


def test_every_compatibility_name_is_documented() -> None:
    """docs/reference.md's compatibility table names each such name, its one namespace
    and every other place it still imports from."""
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    section = text.split("## Where each name lives", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = (cells[1].strip("`"), set(re.findall(r"`([\w.]+)`", cells[2])))
    for module_name, name in _compatibility_names():
        obj = getattr(importlib.import_module(module_name), name)
        assert name in rows, f"{module_name}.{name} is not in the compatibility table"
        home, others = rows[name]
        assert [home] == _homes(name, obj), name
        assert module_name in others, (module_name, name)
    documented = {(m, n) for n, (_, ms) in rows.items() for m in ms}
    assert documented == set(_compatibility_names())


def _fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return done.stdout


def test_runstate_responses_is_imported_on_first_use() -> None:
    """``import runstate`` leaves ``runstate.responses`` (a quarter of its import time)
    for the first use; every way of reaching it still works."""
    code = (
        "import sys, runstate\n"
        "print('runstate.responses' in sys.modules)\n"
        "r = runstate.responses.new_response(id='resp_1', model='m', now=1, background=True)\n"
        "print('runstate.responses' in sys.modules, runstate.responses.dump_response(r)['id'])\n"
        "from runstate import responses\n"
        "print(responses is sys.modules['runstate.responses'] is runstate.responses)\n"
        "print(runstate.converter.unstructure(r)['status'])\n"
        "try:\n"
        "    runstate.no_such_name\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    assert _fresh(code).splitlines() == [
        "False",
        "True resp_1",
        "True",
        "queued",
        "module 'runstate' has no attribute 'no_such_name'",
    ]


def test_star_import_still_brings_runstate_responses() -> None:
    code = "from runstate import *\nprint(responses.__name__, 'new_run' in dir())\n"
    assert _fresh(code).split() == ["runstate.responses", "True"]


def test_the_module_getattr_in_this_process() -> None:
    """The same lookups in-process (the subprocess above is not measured for coverage)."""
    import runstate  # noqa: PLC0415
    import runstate.responses  # noqa: PLC0415

    assert runstate.__getattr__("responses") is sys.modules["runstate.responses"]
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        runstate.__getattr__("no_such_name")
