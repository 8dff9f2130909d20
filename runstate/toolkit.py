"""The server toolkit: request bodies, 404s, list pages and stream events, all pure.

The functions a server calls per request are also at the top level (``runstate.parse_create_run``,
``runstate.list_page``, ``runstate.stream_events``...); this module adds the values they
return and the helpers around them. See ``docs/server.md``, "Building a server".
"""

from __future__ import annotations

from ._errors import InvalidRequest, NotFound, not_found
from ._events import encode_sse, error_json, run_json, stream_events
from ._pages import ListMessages, ListRuns, list_page, parse_list_messages, parse_list_runs
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
    parse_create_assistant,
    parse_create_message,
    parse_create_run,
    parse_create_thread,
    parse_create_thread_and_run,
    parse_json_body,
    parse_modify_assistant,
    parse_modify_message,
    parse_modify_run,
    parse_modify_thread,
    parse_submit_tool_outputs,
    validate_beta_header,
    validate_id,
)

__all__ = [
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
    "validate_beta_header",
    "validate_id",
]
