"""The server toolkit: request bodies, 404s, list pages and stream events, all pure.

The functions a server calls per request are at the top level (``runstate.parse_create_run``,
``runstate.list_page``, ``runstate.stream_events``...); this module holds the values they
return and the helpers around them. See ``docs/server.md``, "Building a server".

Each public name is exported from one namespace: the top-level functions and errors are
not in this module's ``__all__``, but stay importable from here as 0.1 exported them.
"""

from __future__ import annotations

from . import _errors, _events, _pages, _requests
from ._events import error_json, run_json
from ._pages import ListMessages, ListRuns
from ._requests import (
    CreateAssistant,
    CreateMessage,
    CreateRun,
    CreateThread,
    ModifyAssistant,
    ModifyMessage,
    ModifyRun,
    ModifyThread,
    SubmitToolOutputsRequest,
    check_beta_header,
    check_id,
    parse_json_body,
    validate_beta_header,
    validate_id,
)

# Compatibility: names whose one namespace is ``runstate``, importable from here too
# because 0.1 exported them here as well (docs/reference.md, "Where each name lives").
# Not in ``__all__``.
InvalidRequest = _errors.InvalidRequest
NotFound = _errors.NotFound
not_found = _errors.not_found
parse_create_run = _requests.parse_create_run
parse_create_thread_and_run = _requests.parse_create_thread_and_run
parse_create_assistant = _requests.parse_create_assistant
parse_create_thread = _requests.parse_create_thread
parse_submit_tool_outputs = _requests.parse_submit_tool_outputs
parse_modify_run = _requests.parse_modify_run
parse_create_message = _requests.parse_create_message
parse_modify_assistant = _requests.parse_modify_assistant
parse_modify_thread = _requests.parse_modify_thread
parse_modify_message = _requests.parse_modify_message
parse_list_runs = _pages.parse_list_runs
parse_list_messages = _pages.parse_list_messages
list_page = _pages.list_page
stream_events = _events.stream_events
encode_sse = _events.encode_sse

__all__ = [
    "parse_json_body",
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
    "validate_beta_header",
    "validate_id",
]
