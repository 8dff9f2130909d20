"""The server toolkit: request bodies, 404s, list pages and stream events, all pure.

The functions a server calls per request are also at the top level (``runstate.parse_create_run``,
``runstate.list_page``, ``runstate.stream_events``...); this module adds the values they
return and the helpers around them. See ``docs/server.md``, "Building a server".
"""

from __future__ import annotations

from ._errors import InvalidRequest, NotFound, not_found
from ._events import encode_sse, error_json, run_json, stream_events
from ._pages import ListRuns, list_page, parse_list_runs
from ._requests import (
    CreateAssistant,
    CreateRun,
    CreateThread,
    ModifyRun,
    SubmitToolOutputsRequest,
    check_beta_header,
    check_id,
    parse_create_assistant,
    parse_create_run,
    parse_create_thread,
    parse_create_thread_and_run,
    parse_json_body,
    parse_modify_run,
    parse_submit_tool_outputs,
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
    "parse_list_runs",
    "list_page",
    "stream_events",
    "encode_sse",
    "CreateRun",
    "CreateAssistant",
    "CreateThread",
    "SubmitToolOutputsRequest",
    "ModifyRun",
    "ListRuns",
    "run_json",
    "error_json",
    "check_beta_header",
    "check_id",
]
