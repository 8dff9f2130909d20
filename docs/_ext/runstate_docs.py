"""Sphinx directives that draw the lifecycle from runstate's code at build time.

Nothing these directives show is written by hand: each one calls runstate and renders
what it returns, so the built pages cannot disagree with the code.

``runstate-diagram``
    The state diagram: :func:`runstate._diagram.dot` (from ``EDGES``) rendered by
    ``sphinx.ext.graphviz`` to a static SVG (no script, no network).
``runstate-transitions``
    Every edge of ``EDGES``: from, to, the operation that takes it, confidence, evidence.
``runstate-presence``
    Per status, which fields are set, null or either, from ``runstate.models.PRESENCE``;
    then the rules behind it.
``runstate-refusals``
    The refusal texts, got by calling the operations on a run in every status.
``runstate-steps``
    The run steps' transitions and what a run's end does to open steps and messages,
    from ``runstate.steps.STEP_EDGES`` and ``RUN_END_EFFECTS``.

The same text is available to tests through :func:`page_sections`; importing this module
needs no Sphinx (only :func:`setup` does), so the tests run without the ``docs`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import runstate as rs
from runstate import responses as rr
from runstate._diagram import CONFIDENCE, dot, markdown_table
from runstate.models import PRESENCE
from runstate.responses._errors import UNVERIFIED_TEXTS as UNVERIFIED

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import SphinxDirective

S = rs.RunStatus
R = rr.ResponseStatus
T0 = 1_700_000_000
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
OUTPUT = {"tool_call_id": "call_1", "output": "42"}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def run_in(status: rs.RunStatus) -> rs.Run:
    """A run in ``status``, reached by the operations themselves."""
    run = rs.new_run(id="run_abc", thread_id="thread_abc", assistant_id="asst_abc",
                     model="gpt-4o", now=T0)  # fmt: skip
    if status is S.QUEUED:
        return run
    if status is S.EXPIRED:
        return rs.expire(run, now=run.expires_at or T0 + 600)
    run = rs.start(run, now=T0 + 1)
    steps: dict[rs.RunStatus, Callable[[rs.Run], rs.Run]] = {
        S.IN_PROGRESS: lambda r: r,
        S.REQUIRES_ACTION: lambda r: rs.require_action(r, [CALL], now=T0 + 2),
        S.CANCELLING: lambda r: rs.cancel(r, now=T0 + 2),
        S.CANCELLED: lambda r: rs.finish_cancel(rs.cancel(r, now=T0 + 2), now=T0 + 3),
        S.FAILED: lambda r: rs.fail(
            r, now=T0 + 2, error={"code": "server_error", "message": "boom"}, usage=USAGE
        ),
        S.COMPLETED: lambda r: rs.complete(r, now=T0 + 2, usage=USAGE),
        S.INCOMPLETE: lambda r: rs.mark_incomplete(
            r, now=T0 + 2, reason="max_completion_tokens", usage=USAGE
        ),
    }
    return steps[status](run)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return "`` " + text + " ``" if "`" in text else f"`{text}`"


# ---------------------------------------------------------------------------------------
# The generated Markdown


def transitions_markdown() -> str:
    """The transitions table (one row per edge of ``EDGES``) and its confidence legend."""
    legend = "\n".join(f"- **{level}**: {text}." for level, text in CONFIDENCE.items())
    return f"{markdown_table()}\nConfidence levels:\n\n{legend}\n"


def presence_cells() -> dict[tuple[str, rs.RunStatus], tuple[str, str]]:
    """(field, status) -> ("set" | "null" | "either", "error" | "warning" | "")."""
    cells: dict[tuple[str, rs.RunStatus], tuple[str, str]] = {}
    for row in PRESENCE:
        for status in S:
            if status in row.required_in:
                cells[(row.field, status)] = ("set", row.severity)
            elif status not in row.allowed_in:
                cells[(row.field, status)] = ("null", row.severity)
    for row in PRESENCE:
        for status in S:
            cells.setdefault((row.field, status), ("either", ""))
    return cells


def presence_markdown() -> str:
    """Per status: the fields that are set, null or either; then the rules behind it."""
    fields = list(dict.fromkeys(row.field for row in PRESENCE))
    cells = presence_cells()
    lines = ["| status | set | null | either |", "| --- | --- | --- | --- |"]
    for status in S:
        groups: dict[str, list[str]] = {"set": [], "null": [], "either": []}
        for field in fields:
            kind, severity = cells[(field, status)]
            mark = "\\*" if severity == "warning" else ""
            groups[kind].append(f"`{field}`{mark}")
        row = " | ".join(", ".join(g) or "-" for g in groups.values())
        lines.append(f"| `{status.value}` | {row} |")
    lines += [
        "",
        "\\* A warning, not an error: the real API's observed habit, not a promise.",
        "",
        "The rules, as `runstate.violations` checks them:",
        "",
        "| field | rule | severity | set in | evidence |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in PRESENCE:
        where = ", ".join(f"`{s.value}`" for s in S if s in row.required_in) or "never"
        lines.append(
            f"| `{row.field}` | `{row.rule}` | {row.severity} | {where} | {_cell(row.why)} |"
        )
    return "\n".join(lines) + "\n"


def refusals() -> Iterator[tuple[str, str, rs.APIError]]:
    """(request, the run's status, the error) for every refusal an endpoint gives."""
    for status in S:
        decision = rs.check_cancel(run_in(status))
        if decision.error is not None:
            yield "cancel", status.value, decision.error
    for status in (S.QUEUED, S.REQUIRES_ACTION):
        decision = rs.check_cancel(run_in(status), documented_only=True)
        if decision.error is not None:
            yield "cancel (`documented_only=True`)", status.value, decision.error
    for status in S:
        try:
            rs.submit_tool_outputs(run_in(status), [OUTPUT], now=T0 + 5)
        except rs.APIError as err:
            yield "submit tool outputs", status.value, err
    waiting = run_in(S.REQUIRES_ACTION)
    for outputs, what in (
        ([], "no outputs"),
        ([{"tool_call_id": "call_2", "output": "x"}], "a wrong call id"),
        ([OUTPUT, OUTPUT], "a call id twice"),
    ):
        try:
            rs.submit_tool_outputs(waiting, outputs, now=T0 + 5)
        except rs.APIError as err:
            yield f"submit tool outputs ({what})", "requires_action", err
    for status in S:
        try:
            rs.update_metadata(run_in(status), metadata={"k": "v"})
        except rs.APIError as err:
            yield "modify (metadata)", status.value, err
    for status in S:
        for request, ensure in (
            ("create run on the thread", rs.ensure_can_create_run),
            ("add message to the thread", rs.ensure_can_add_message),
        ):
            try:
                ensure("thread_abc", [run_in(status)])
            except rs.APIError as err:
                yield request, status.value, err
    yield "retrieve an unknown run", "-", rs.not_found("run", "run_abc")


def refusals_markdown() -> str:
    """The refusal texts as a table: request, statuses, HTTP status, reason, message.

    Rows that differ only in the run's status are merged, with the status in the message
    shown as ``<status>``.
    """
    groups: dict[tuple[str, int, str, str], list[str]] = {}
    for request, status, err in refusals():
        template = err.message.replace(f"'{status}'", "'<status>'").replace(
            f'"{status}"', '"<status>"'
        )
        groups.setdefault((request, err.http_status, err.reason, template), []).append(status)
    lines = [
        "| request | run status | HTTP | `reason` | message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (request, http, reason, template), statuses in groups.items():
        where = ", ".join(f"`{s}`" for s in statuses if s != "-") or "-"
        lines.append(f"| {request} | {where} | {http} | `{reason}` | {_code(_cell(template))} |")
    return "\n".join(lines) + "\n"


def steps_markdown() -> str:
    """The run steps' tables, each row with its confidence and evidence.

    ``STEP_EDGES``, then what a run's end does to open steps and messages
    (``RUN_END_EFFECTS``).
    """
    from runstate import steps  # noqa: PLC0415 - one generator's own subject

    lines = [
        "| step from | to | confidence | why |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{e.source.value}` | `{e.target.value}` | {e.confidence} | {_cell(e.why)} |"
            for e in steps.STEP_EDGES
        ),
        "",
        "When the run ends, its open steps and messages end with it:",
        "",
        "| run operation | open step becomes | open message becomes | confidence | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for effect in steps.RUN_END_EFFECTS.values():
        message = f"`{effect.message_status}`"
        if effect.message_reason:
            message += f" (`{effect.message_reason}`)"
        lines.append(
            f"| `{effect.operation}` | `{effect.step_status.value}` | {message} "
            f"| {effect.confidence} | {_cell(effect.why)} |"
        )
    return "\n".join(lines) + "\n"


def diagram_dot() -> str:
    """:func:`runstate._diagram.dot`, drawn top to bottom so that it fits a page's width."""
    source = dot()
    assert "rankdir=LR;" in source
    return source.replace("rankdir=LR;", "rankdir=TB;", 1)


def diagram_markdown() -> str:
    """The diagram as a ``graphviz`` directive holding :func:`diagram_dot`."""
    return (
        "```{graphviz}\n"
        ":alt: The run lifecycle: every status and every allowed transition\n"
        ":class: runstate-lifecycle\n"
        "\n"
        f"{diagram_dot()}"
        "```\n"
    )


# ---------------------------------------------------------------------------------------
# The Responses API's machine (docs/responses.md), from runstate.responses


def response_in(status: rr.ResponseStatus, *, background: bool = True) -> rr.Response:
    """A response in ``status``, reached by the operations themselves."""
    r = rr.new_response(id="resp_abc", model="gpt-4.1-mini", now=T0, background=background)
    if status is R.QUEUED:
        return r
    if background:
        r = rr.start(r, now=T0 + 1)
    usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    steps: dict[rr.ResponseStatus, Callable[[rr.Response], rr.Response]] = {
        R.IN_PROGRESS: lambda r: r,
        R.COMPLETED: lambda r: rr.complete(r, output=[], usage=usage, now=T0 + 2),
        R.FAILED: lambda r: rr.fail(r, {"code": "server_error", "message": "x"}, now=T0 + 2),
        R.INCOMPLETE: lambda r: rr.mark_incomplete(
            r, "max_output_tokens", usage=usage, now=T0 + 2
        ),
        R.CANCELLED: lambda r: rr.cancel(r, now=T0 + 2),
    }
    return steps[status](r)


def responses_diagram_markdown() -> str:
    """The response lifecycle as a ``graphviz`` directive, from ``runstate.responses.TABLE``."""
    source = dot(rr.LIFECYCLE).replace("rankdir=LR;", "rankdir=TB;", 1)
    return (
        "```{graphviz}\n"
        ":alt: The response lifecycle: every status and every allowed transition\n"
        ":class: runstate-lifecycle\n"
        "\n"
        f"{source}"
        "```\n"
    )


def responses_transitions_markdown() -> str:
    """One row per edge of ``runstate.responses.TABLE``, with its evidence; then the race."""
    lines = [
        "| from | to | operation | confidence | evidence | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in rr.TABLE:
        lines.append(
            f"| `{e.source.value}` | `{e.target.value}` | `{e.operation}` | {e.confidence} "
            f"| {', '.join(e.evidence)} | {_cell(e.why)} |"
        )
    race = rr.CANCEL_RACE
    lines += [
        "",
        f"**The cancel race.** Winner: the {race.winner}, confidence {race.confidence} "
        f"({', '.join(race.evidence)}): {race.why}. Against it: {race.contrary}.",
    ]
    return "\n".join(lines) + "\n"


def responses_presence_markdown() -> str:
    """The per-status rules of ``runstate.responses.PRESENCE``."""
    lines = [
        "| field | rule | set in | may be set in | evidence |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rr.PRESENCE:
        must = ", ".join(f"`{s.value}`" for s in R if s in row.required_in) or "-"
        may = ", ".join(f"`{s.value}`" for s in R if s in row.allowed_in) or "never"
        lines.append(f"| `{row.field}` | `{row.rule}` | {must} | {may} | {_cell(row.why)} |")
    return "\n".join(lines) + "\n"


def responses_refusals_markdown() -> str:
    """Every refusal, got by calling the operations on a response in every status."""
    found: list[tuple[str, str, rs.APIError]] = []
    for status in R:
        err = rr.check_cancel(response_in(status))
        if err is not None:
            found.append(("cancel", status.value, err))
    for status in (R.IN_PROGRESS, R.COMPLETED):
        err = rr.check_cancel(response_in(status, background=False))
        assert err is not None
        found.append(("cancel (`background: false`)", status.value, err))
    for status in R:
        try:
            rr.ensure_can_delete(response_in(status))
        except rs.APIError as exc:
            found.append(("delete", status.value, exc))
    try:
        rr.parse_create_response({"background": True, "store": False})
    except rs.APIError as exc:
        found.append(("create (`background` without `store`)", "-", exc))
    query = rr.parse_retrieve_query("stream=true")
    for request, response, now in (
        ("retrieve `?stream=true`", response_in(R.COMPLETED, background=False), T0 + 3),
        ("retrieve `?stream=true`, too late", response_in(R.COMPLETED), T0 + 301),
    ):
        try:
            query.check(response, now=now)
        except rs.APIError as exc:
            found.append((request, response.status.value, exc))
    found.append(("retrieve, cancel or delete an unknown id", "-", rr.not_found("resp_abc")))
    lines = [
        "| request | response status | HTTP | `reason` | message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for request, status, err in found:
        note = " (inferred: no recording holds it)" if err.message in UNVERIFIED else ""
        lines.append(
            f"| {request} | `{status}` | {err.http_status} | `{err.reason}` "
            f"| {_code(_cell(err.message))}{note} |"
        )
    return "\n".join(lines) + "\n"


def runs_to_responses_markdown() -> str:
    """The guide's table: each run status, its response status, events, and cancel."""
    lines = [
        "| run status | run event | response status | response event | cancel on a run "
        "| cancel on a background response | what changes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rr.FROM_RUNS:
        run_cancel = rs.check_cancel(run_in(row.run))
        run_answer = "200" if run_cancel.allowed else f"400 `{run_cancel.reason}`"
        if row.response is None:
            status = event = response_answer = "-"
        else:
            status, event = f"`{row.response.value}`", f"`{rr.response_event(row.response)}`"
            err = rr.check_cancel(response_in(row.response))
            response_answer = "200" if err is None else f"{err.http_status} `{err.reason}`"
        lines.append(
            f"| `{row.run.value}` | `{row.run.event}` | {status} | {event} | {run_answer} "
            f"| {response_answer} | {_cell(row.note)} |"
        )
    return "\n".join(lines) + "\n"


#: The files whose change must rebuild a page that uses these directives.
DEPENDS_ON = (
    Path(__file__),
    *(Path(rs.__file__).parent / name for name in (
        "_table.py", "_diagram.py", "_invariants.py", "_status.py", "_ops.py", "_errors.py",
        "_steps.py", "responses/_table.py", "responses/_machine.py", "responses/_errors.py",
        "responses/_runs.py", "responses/_requests.py",
    )),
)  # fmt: skip

SECTIONS: dict[str, Callable[[], str]] = {
    "runstate-diagram": diagram_markdown,
    "runstate-transitions": transitions_markdown,
    "runstate-presence": presence_markdown,
    "runstate-refusals": refusals_markdown,
    "runstate-steps": steps_markdown,
    "runstate-responses-diagram": responses_diagram_markdown,
    "runstate-responses-transitions": responses_transitions_markdown,
    "runstate-responses-presence": responses_presence_markdown,
    "runstate-responses-refusals": responses_refusals_markdown,
    "runstate-runs-to-responses": runs_to_responses_markdown,
}


def page_sections() -> dict[str, str]:
    """The generated Markdown of every directive, by directive name (for tests)."""
    return {name: make() for name, make in SECTIONS.items()}


# ---------------------------------------------------------------------------------------
# Sphinx


def _directive(name: str, make: Callable[[], str]) -> type[SphinxDirective]:
    from docutils import nodes  # noqa: PLC0415 - the generators above need no Sphinx
    from docutils.statemachine import StringList  # noqa: PLC0415
    from sphinx.util.docutils import SphinxDirective  # noqa: PLC0415

    class Generated(SphinxDirective):
        has_content = False

        def run(self) -> list[nodes.Node]:
            for source in DEPENDS_ON:  # rebuild the page when the code behind it changes
                self.env.note_dependency(str(source))
            container = nodes.container(classes=["runstate-generated", name])
            self.state.nested_parse(StringList(make().splitlines()), 0, container)
            return [container]

    Generated.__doc__ = make.__doc__
    return Generated


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives."""
    for name, make in SECTIONS.items():
        app.add_directive(name, _directive(name, make))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
