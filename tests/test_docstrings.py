"""Every module's docstring examples run, and every public name is documented."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import runstate
import runstate._engine

MODULES = sorted(  # every module, the subpackages' too (runstate.responses, runstate.testing)
    m.name
    for m in pkgutil.walk_packages(runstate.__path__, "runstate.")
    if m.name != "runstate.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0


def test_main_operations_have_examples() -> None:
    for name in (
        "parse_run",
        "dump_run",
        "new_run",
        "start",
        "require_action",
        "submit_tool_outputs",
        "cancel",
        "check_cancel",
        "finish_cancel",
        "complete",
        "fail",
        "mark_incomplete",
        "expire",
        "update_metadata",
        "violations",
        "validate",
        "check_trace",
        "parse_sse",
        "can_transition",
        "can_reach",
        "ensure_can_create_run",
        "ensure_can_add_message",
        "ensure_can_delete_thread",
        "parse_create_message",
        "parse_modify_assistant",
        "parse_modify_thread",
        "parse_modify_message",
        "parse_list_messages",
    ):
        assert ">>>" in (getattr(runstate, name).__doc__ or ""), name


def test_every_public_name_is_documented() -> None:
    for name in runstate.__all__:
        obj = getattr(runstate, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert (obj.__doc__ or "").strip(), name
