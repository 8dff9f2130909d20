"""Run rules: what the kit expects of a run, and the checks of every answer about one.

The first half of :data:`runstate.testing.RULES` (every way a run's answer can differ),
what the kit asks the implementation for, what runstate makes of a worker step, and
:class:`RunChecks`, the test case's checks of a response against its reference run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .. import _ops as ops
from .._engine.copying import replace
from .._errors import APIError, InvalidRun, ThreadBusy
from .._invariants import violations
from .._model import Run
from .._operations import Op
from .._serde import dump_run, parse_run
from .._status import RunStatus
from .._table import EDGES
from .._trace import check_trace
from ._adapters import Step, StepKind, success, unpack
from ._engine import Rule, rule_table
from ._report import a_status, brief, bullets, describe, json_diff
from ._state import Kit

__all__ = [
    "CONFIDENCE",
    "DEFAULT_ASSISTANT_ID",
    "LAST_ERROR",
    "METADATA",
    "PROBE",
    "RUN_RULES",
    "SUBMISSIONS",
    "UNUSUAL_ENDINGS",
    "USAGE",
    "RunChecks",
    "latest_stamp",
    "reference_step",
    "thread_busy",
]

#: The rules about runs, by name, in the order :data:`runstate.testing.RULES` lists them.
RUN_RULES: Final[Mapping[str, Rule]] = rule_table(
    # create
    (
        "create-status",
        "H",
        "spec and every recording: 200",
        "a new run answered with a status other than 200",
    ),
    ("create-refused", "H", "spec, recordings", "a create runstate accepts was refused"),
    (
        "create-fields",
        "H",
        "spec-facts §6, §7",
        "the new run is not the queued run that was asked for",
    ),
    (
        "thread-lock",
        "M",
        "spec-facts §4.4 (H for in_progress)",
        "a run was created on a thread whose run is queued, in_progress or requires_action",
    ),
    (
        "thread-lock-cancelling",
        "L",
        "spec-facts §4.4: no evidence for cancelling",
        "a run was created on a thread whose run is still cancelling",
    ),
    # retrieve
    (
        "retrieve-status",
        "H",
        "spec, recordings",
        "a retrieve answered with a 2xx status other than 200",
    ),
    ("retrieve-refused", "H", "spec", "a retrieve of an existing run was refused"),
    (
        "retrieve-changed",
        "H",
        "the kit is the only client",
        "a run changed between two requests with nothing done to it",
    ),
    # cancel
    (
        "cancel-status",
        "H",
        "spec-facts §4.1: 200",
        "a cancel answered with a 2xx status other than 200",
    ),
    (
        "cancel-refused",
        "M",
        "spec-facts §7 (H for in_progress, M queued/requires_action)",
        "a cancel runstate accepts was refused",
    ),
    (
        "cancel-accepted",
        "H",
        "spec-facts §4.1: 400 on terminal runs",
        "a cancel of a terminal run was accepted",
    ),
    (
        "cancel-accepted-cancelling",
        "H",
        "spec-facts §4.1: 400, observed",
        "a cancel of a cancelling run was accepted",
    ),
    (
        "cancel-target",
        "H",
        "spec-facts §4.1: 200 returns cancelling",
        "a cancel moved the run to another status than cancelling",
    ),
    (
        "cancel-fields",
        "H",
        "spec-facts §6",
        "a cancelled run's fields are not what runstate makes of them",
    ),
    (
        "cancel-keeps-required-action",
        "?",
        "spec-facts §8.13: unknown",
        "a run cancelled while requires_action still carries required_action",
    ),
    # submit tool outputs
    (
        "submit-status",
        "H",
        "spec, recordings: 200",
        "a submit answered with a 2xx status other than 200",
    ),
    ("submit-refused", "H", "spec-facts §4.2, §7", "the right tool outputs were refused"),
    (
        "submit-accepted",
        "H",
        "spec-facts §4.2 (M for queued, cancelling)",
        "tool outputs were accepted from a run that is not requires_action",
    ),
    (
        "submit-ids-accepted",
        "M",
        "spec-facts §10.2, pasted responses",
        "tool outputs with a call missing (or replaced by an unknown one) or given twice "
        "were accepted",
    ),
    (
        "submit-unknown-id-accepted",
        "L",
        "spec-facts §10.2: nothing found",
        "tool outputs for every pending call and one unknown call were accepted",
    ),
    (
        "submit-target",
        "H",
        "spec-facts §7: 200 returns queued",
        "a submit moved the run to another status than queued",
    ),
    (
        "submit-fields",
        "H",
        "spec-facts §6, §8.5, §8.6",
        "a run after submit is not what runstate makes of it",
    ),
    # the worker
    (
        "drive-refused",
        "H",
        "spec-facts §7, an H or M edge",
        "a worker move the table allows (H or M) was refused",
    ),
    (
        "drive-refused-weak",
        "L",
        "spec-facts §7, an L edge",
        "a worker move the table allows with low confidence was refused",
    ),
    (
        "drive-accepted",
        "H",
        "spec-facts §7: no such edge",
        "a worker move the table forbids was accepted",
    ),
    ("drive-target", "H", "spec-facts §7", "a worker move reached another status than asked"),
    (
        "drive-fields",
        "H",
        "spec-facts §6",
        "a run after a worker move is not what runstate makes of it",
    ),
    # refusals, whatever the request
    (
        "refusal-status",
        "H",
        "spec-facts §4: every refusal seen is 400",
        "a refusal with an HTTP status other than runstate's",
    ),
    (
        "refusal-body",
        "H",
        "spec-facts §4, §10: the real API's text",
        "a refusal whose body is not the real API's, byte for byte",
    ),
    (
        "refusal-changed-run",
        "H",
        "a refused request changes nothing",
        "a refused request changed the run",
    ),
    # every run
    ("invalid-run", "H", "spec RunObject", "a success whose body is not a valid run object"),
    (
        "per-status-rules",
        "H",
        "spec-facts §6 (runstate.violations, errors only)",
        "a run breaks a per-status rule the spec or docs promise",
    ),
    (
        "per-status-warnings",
        "L",
        "spec-facts §6 (runstate.violations, warnings: observed, not promised)",
        "a run breaks a per-status rule the recordings show but the spec does not promise",
    ),
    (
        "ended-usage-null",
        "?",
        "spec-facts §6: no cancelled or expired run recorded",
        "a cancelled or expired run carries usage: null where runstate reports zeros",
    ),
    (
        "timestamp-order",
        "H",
        "spec field semantics",
        "a step stamped a time before the run's latest timestamp",
    ),
    (
        "unknown-fields",
        "opt-in",
        "probe_unknown_fields=True",
        "an unknown field the run was created with was lost or changed",
    ),
    (
        "poll-trace",
        "H",
        "runstate.check_trace(mode='poll')",
        "two responses for a run, read as polls, break the lifecycle",
    ),
)


# --------------------------------------------------------------------------------------
# What the kit asks for

#: The assistant id runs are created with, unless the implementation has a
#: ``create_assistant()`` method or ``assistant_id=`` names another.
DEFAULT_ASSISTANT_ID: Final = "asst_runstate_conformance"
METADATA: Final[Mapping[str, str]] = {"suite": "runstate-conformance"}
#: The unknown field a probing kit asks every run to carry: nested objects and arrays.
PROBE: Final[Mapping[str, Any]] = {
    "x_runstate_probe": {"level": 1, "nested": {"level": 2, "items": [{"level": 3}, None]}}
}
#: The worker steps that end a run unusually (one rule draws among them).
UNUSUAL_ENDINGS: Final[tuple[StepKind, ...]] = (
    Op.FAIL.value,
    Op.MARK_INCOMPLETE.value,
    Op.EXPIRE.value,
)
USAGE: Final[Mapping[str, int]] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
LAST_ERROR: Final[Mapping[str, str]] = {
    "code": "server_error",
    "message": "Sorry, something went wrong.",
}
#: The ways to submit tool outputs the kit tries: the right ones, in reverse order
#: (accepted: the order does not matter), and four that must be refused: one call left
#: out, one replaced by an unknown call, every call plus an unknown one, one call twice.
SUBMISSIONS: Final = ("all", "reversed", "one_missing", "one_replaced", "unknown_id", "one_twice")

#: The timestamp each worker step sets to the server's ``now``.
_STAMPED: Final[Mapping[str, str]] = {
    Op.START: "started_at",
    Op.COMPLETE: "completed_at",
    Op.MARK_INCOMPLETE: "completed_at",
    Op.FAIL: "failed_at",
    Op.FINISH_CANCEL: "cancelled_at",
}
CONFIDENCE: Final[Mapping[tuple[RunStatus, RunStatus], str]] = {
    (e.source, e.target): e.confidence for e in EDGES
}
_CANCELLING: Final = RunStatus.CANCELLING
#: The ended statuses no recording shows the usage of (spec-facts §6: ``?``), where
#: runstate reports zeros: ``usage: null`` there is ``ended-usage-null``, a warning.
_USAGE_UNKNOWN: Final = frozenset({RunStatus.CANCELLED, RunStatus.EXPIRED})
#: Where a field path's top-level field ends (``usage.total_tokens``, ``tools[0]``).
_FIELD: Final = re.compile(r"[.\[]")


def reference_step(run: Run, step: Step, now: int) -> Run:
    """What runstate makes of ``step`` on ``run`` at ``now`` (or the refusal it raises)."""
    kind = step.kind
    if kind == Op.START.value:
        return ops.start(run, now=now)
    if kind == Op.REQUIRE_ACTION.value:
        return ops.require_action(run, step.tool_calls, now=now)
    if kind == Op.COMPLETE.value:
        return ops.complete(run, now=now, usage=step.usage)
    if kind == Op.FAIL.value:
        assert step.last_error is not None
        return ops.fail(run, now=now, error=step.last_error, usage=step.usage)
    if kind == Op.MARK_INCOMPLETE.value:
        assert step.reason is not None
        return ops.mark_incomplete(run, now=now, reason=step.reason, usage=step.usage)
    if kind == Op.FINISH_CANCEL.value:
        return ops.finish_cancel(run, now=now, usage=step.usage)
    return ops.expire(run, now=max(now, run.expires_at or now))


def thread_busy(thread_id: str, run: Run) -> ThreadBusy:
    """The thread lock's refusal naming ``run``."""
    try:
        ops.ensure_can_create_run(thread_id, [run])
    except ThreadBusy as err:
        return err
    raise AssertionError(f"{run.id} does not lock {thread_id}")  # pragma: no cover


def latest_stamp(run: Run) -> int:
    """The run's latest timestamp: any sane ``now`` for it is at or after this."""
    stamps = (run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at)
    return max(s for s in stamps if s is not None)


#: (operation, kind) -> rule name, where it is not simply f"{operation}-{kind}".
_NAMES: Final[Mapping[tuple[str, str], str]] = {
    ("create", "target"): "create-fields",
    ("retrieve", "target"): "retrieve-changed",
    ("retrieve", "fields"): "retrieve-changed",
    ("recheck", "target"): "refusal-changed-run",
    ("recheck", "fields"): "refusal-changed-run",
    ("recheck", "status"): "retrieve-status",
    ("recheck", "refused"): "retrieve-refused",
    ("drive", "status"): "",  # the drive hook is the implementation's own: any 2xx
    # A cancel that took effect on its own, seen by a retrieve: its fields are the
    # cancel's; the answer itself is a retrieve's.
    ("settle", "target"): "cancel-fields",
    ("settle", "fields"): "cancel-fields",
    ("settle", "status"): "retrieve-status",
    ("settle", "refused"): "retrieve-refused",
}


def _name(op: str, kind: str) -> str:
    return _NAMES.get((op, kind), f"{op}-{kind}")


class RunChecks(Kit):
    """A test case's checks of the answers about runs: each against its reference run."""

    def _expect_step(
        self, op: str, what: str, before: Run, payload: Step, response: tuple[int, Any]
    ) -> None:
        """Check a worker step's result; its timestamp is the server's, at or after ours."""
        now = latest_stamp(before)
        expected = reference_step(before, payload, now)
        stamp = _STAMPED.get(payload.kind)
        stamps: list[tuple[str, str, str]] = []
        if stamp is not None:
            body = response[1]
            value = body.get(stamp) if isinstance(body, Mapping) else None
            if type(value) is int and value >= now:
                expected = reference_step(before, payload, value)
            elif isinstance(body, Mapping) and "status" in body:
                # A stamp before the run's latest is out of order; a missing one (or
                # not a time at all) is a wrong field, which the fields rule names.
                order = type(value) is int
                stamps.append(
                    (
                        stamp,
                        "timestamp-order" if order else _name(op, "fields"),
                        f"{stamp}: expected a timestamp at or after {now} (the run's latest "
                        f"before the step), got {brief(value)}",
                    )
                )
        self._expect_run(
            op, what, response, expected, before, ignore=stamp if stamps else None, stamps=stamps
        )

    # -- a cancel that finished on its own -------------------------------------------------

    def _settled(self, before: Run, response: tuple[int, Any], expected: object) -> Run:
        """The reference for ``before``'s run, after a cancel that may have finished.

        The real service may finish a cancel at any time. When a ``cancelling`` run's
        answer is not the one expected, the kit retrieves the run; if it is ``cancelled``
        it is checked as :func:`runstate.finish_cancel` and becomes the reference.
        """
        if before.status is not _CANCELLING or self._as_expected(response, expected):
            return before
        return self._settle(before)

    @staticmethod
    def _as_expected(response: tuple[int, Any], expected: object) -> bool:
        status, body = response
        if isinstance(expected, Run):
            return (
                success(status)
                and isinstance(body, Mapping)
                and body.get("status") == expected.status.value
            )
        if isinstance(expected, APIError):
            return status == expected.http_status and body == expected.to_api_error()
        return 400 <= status < 500

    def _settle(self, before: Run, response: tuple[int, Any] | None = None) -> Run:
        if response is None:
            response = unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, before.id))
        body = response[1]
        if not (
            success(response[0])
            and isinstance(body, Mapping)
            and body.get("status") == RunStatus.CANCELLED.value
        ):
            return before
        usage = body.get("usage")
        step = Step(
            kind=Op.FINISH_CANCEL.value, usage=usage if isinstance(usage, Mapping) else None
        )
        what = f"retrieve of a 'cancelling' run ({before.id}) that was cancelled on its own"
        self._expect_step("settle", what, before, step, response)
        return self.ref[before.id]

    # -- checks ---------------------------------------------------------------------------

    def _run_of(self, response: tuple[int, Any]) -> Run | None:
        """The response's run if it is a success with a valid run, else ``None``."""
        status, body = response
        if not success(status) or not isinstance(body, Mapping):
            return None
        try:
            return parse_run(body)
        except InvalidRun:
            return None

    def _parse(self, op: str, what: str, response: tuple[int, Any], wanted: str) -> Run | None:
        """The response as a run, or ``None`` after reporting what came back instead."""
        status, body = response
        if not success(status):
            self._diverge(
                _name(op, "refused"), what, f"expected {wanted}, got {describe(status, body)}"
            )
            return None
        if not isinstance(body, Mapping):
            self._diverge(
                "invalid-run",
                what,
                f"expected {wanted}, got {status} with a body that is not a JSON object: "
                f"{brief(body)}",
            )
            return None
        try:
            run = parse_run(body)
        except InvalidRun as exc:
            problems = [str(e) for e in exc.errors]
            self._diverge(
                "invalid-run",
                what,
                f"expected {wanted}, got {status} with a body that is not a valid run:"
                + bullets(problems),
            )
            return None
        if status != 200 and _name(op, "status"):
            self._diverge(
                _name(op, "status"),
                what,
                f"expected {wanted}, got {describe(status, body)} (a success, but not 200)",
            )
        return run

    def _expect_created(
        self, what: str, response: tuple[int, Any], thread_id: str, extra: Mapping[str, Any]
    ) -> Run | None:
        wanted = "200 status 'queued'"
        run = self._parse("create", what, response, wanted)
        if run is None:
            return None
        if run.id in self.ref:
            self._diverge(
                "create-fields",
                what,
                f"expected a new run, got the id {run.id!r} of an existing run",
            )
            return None
        # The server decides the id, its clock, the model and the defaults; runstate
        # decides the status, what is null on a new run, and that the request's
        # thread, assistant, metadata and unknown fields are kept.
        expected = replace(
            run,
            status=RunStatus.QUEUED,
            thread_id=thread_id,
            assistant_id=self.assistant_id,
            started_at=None,
            cancelled_at=None,
            failed_at=None,
            completed_at=None,
            required_action=None,
            last_error=None,
            incomplete_details=None,
            usage=None,
            metadata=dict(METADATA),
            extra={**run.extra, **extra},
        )
        self._compare("create", what, wanted, response, run, expected, None)
        self.ref[run.id] = run
        return run

    def _expect_run(
        self,
        op: str,
        what: str,
        response: tuple[int, Any],
        expected: Run,
        before: Run,
        *,
        ignore: str | None = None,
        stamps: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        wanted = f"200 status {expected.status.value!r}"
        run = self._parse(op, what, response, wanted)
        if run is None:
            return
        if self._compare(op, what, wanted, response, run, expected, before, ignore, stamps):
            self._accept(what, run)
        else:
            # A tolerated divergence: go on from what came back.
            self.ref[run.id] = run
            if run.status is not expected.status:
                self.off_table.add(run.id)

    def _compare(
        self,
        op: str,
        what: str,
        wanted: str,
        response: tuple[int, Any],
        run: Run,
        expected: Run,
        before: Run | None,
        ignore: str | None = None,
        stamps: Sequence[tuple[str, str, str]] = (),
    ) -> bool:
        """Report every difference, grouped by rule; whether there was none.

        One root cause is one divergence, under the rule that names it: a field that
        breaks a per-status rule the spec promises (an error of
        :func:`runstate.violations`) is reported there, with its difference from the
        reference and its stamp problem; a field that differs otherwise is reported
        under the operation's fields rule, with any weaker per-status rule it breaks
        (a warning); a per-status warning alone is ``per-status-warnings``; a step's
        stamp before the run's latest is ``timestamp-order``, whatever else. ``stamps``
        are ``(field, rule, problem)`` for a worker step's stamp that is missing or out
        of order (that field is then left out of the comparison).
        """
        got = describe(response[0], response[1])
        if run.status is not expected.status:
            self._diverge(_name(op, "target"), what, f"expected {wanted}, got {got}")
            return False
        # A cancel from requires_action that keeps required_action: unknown (§8.13);
        # so is the cancelled run it becomes (a tolerated cancelling run that kept it).
        kept = (
            before is not None
            and run.required_action is not None
            and (
                (op == Op.CANCEL and before.status is RunStatus.REQUIRES_ACTION)
                or (op == "settle" and before.required_action is not None)
            )
        )
        # usage: null on a cancelled or expired run: unknown (§6), a warning.
        bare = run.usage is None and run.status in _USAGE_UNKNOWN

        def special(field: str) -> str | None:
            if kept and field == "required_action":
                return "cancel-keeps-required-action"
            if bare and field == "usage":
                return "ended-usage-null"
            return None

        known = {v.rule for v in violations(before)} if before is not None else set()
        new = [v for v in violations(run) if v.rule not in known]
        #: top-level field -> the rule every problem with it is reported under: a stamp
        #: out of order first, then a promise broken, then the difference itself.
        owner: dict[str, str] = {f: n for f, n, _ in stamps if n == "timestamp-order"}
        for v in new:
            if v.severity == "error":
                owner.setdefault(v.field, special(v.field) or "per-status-rules")
        problems: list[tuple[str, str, str]] = []  # (field, rule if no owner, line)
        # Equal values dump to equal JSON: compare the JSON only when they differ.
        want, have = ({}, {}) if run == expected else (dump_run(expected), dump_run(run))
        if ignore is not None:
            want.pop(ignore, None)
            have.pop(ignore, None)
        if want != have:
            diffs: list[tuple[str, str]] = []
            json_diff(want, have, "", diffs)
            for path, line in diffs:
                field = _FIELD.split(path, maxsplit=1)[0]
                if "x_runstate_probe" in path:
                    problems.append(("", "unknown-fields", line))
                else:
                    problems.append((field, special(field) or _name(op, "fields"), line))
        problems += stamps
        for field, name, _ in problems:
            if field:
                owner.setdefault(field, name)
        groups: dict[str, list[str]] = {}
        for v in new:
            name = owner.get(v.field) or special(v.field) or "per-status-warnings"
            groups.setdefault(name, []).append(f"{v.field}: {v.message} [{v.rule}]")
        for field, name, line in problems:
            groups.setdefault(owner.get(field, name) if field else name, []).append(line)
        for name, lines in groups.items():
            self._diverge(name, what, f"expected {wanted}, got {got} but:" + bullets(lines))
        return not groups

    def _accept(self, what: str, run: Run) -> None:
        """Make ``run`` the reference, after checking it follows the previous as a poll."""
        previous = self.ref.get(run.id)
        self.ref[run.id] = run
        if previous is None or run.id in self.off_table:
            return
        report = check_trace([previous, run], mode="poll")
        own = {v.rule for v in violations(previous)} | {v.rule for v in violations(run)}
        problems = [
            f"{p.severity} {p.rule}: {p.message}"
            for p in report.problems
            if p.severity == "error" and p.position and p.rule not in own
        ]
        if problems:
            self._diverge(
                "poll-trace",
                what,
                "read as two polls of the run, the previous response and this one "
                "break the lifecycle:" + bullets(problems),
            )

    def _expect_refusal(
        self,
        what: str,
        response: tuple[int, Any],
        err: APIError,
        run_id: str,
        accepted: str = "",
    ) -> None:
        status, body = response
        wire = err.to_api_error()
        expected = f"expected {err.http_status} {brief(wire)}, got {describe(status, body)}"
        if success(status):
            self._diverge(accepted, what, expected)
            run = self._run_of(response)
            if run is not None and run.id == run_id:
                self.ref[run_id] = run
                self.off_table.add(run_id)
            return
        if status != err.http_status:
            self._diverge("refusal-status", what, expected)
        elif body != wire:
            self._diverge("refusal-body", what, expected)
        self._check_unchanged(what, run_id)

    def _check_unchanged(self, what: str, run_id: str) -> None:
        """A refused request changes nothing: retrieve the run and compare."""
        before = self.ref[run_id]
        response = unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
        if before.status is _CANCELLING and self._settle(before, response) is not before:
            return  # the cancel took effect meanwhile, which the service may do
        self._expect_run(
            "recheck",
            f"retrieve of {a_status(before.status)} run ({run_id}) after the refused {what}",
            response,
            before,
            before,
        )
