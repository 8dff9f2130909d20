"""The lifecycle as a ``transitions`` machine, for applications that drive objects with it.

:func:`machine` binds a ``transitions.Machine`` to an object of yours that holds a
:class:`~runstate.Run`. Its states are the statuses' wire values and its triggers are the
lifecycle operations, both derived from the tables (:data:`runstate.TRANSITIONS`, and
the operations table's operation into each status); nothing is restated. Firing a trigger
runs the runstate operation on the held run and stores the result, so the machine's
state and the run's status never disagree, and ``transitions`` does what it is good at:
``on_enter_<status>`` / ``on_exit_<status>`` callbacks for side effects (webhooks,
metrics, audit logs), ``may_<trigger>()`` checks, and graph drawing.

``transitions`` is imported on the first call only, so ``import runstate`` does not pay
for it. The pure functions stay the fast path: a machine per run costs far more than an
operation (``benchmarks/RESULTS.md``), so use one where its callbacks earn their keep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import InvalidArgument
from ._model import Run
from ._operations import OPERATION_FOR_TARGET
from ._status import RunStatus
from ._table import TRANSITIONS, TransitionTable

__all__ = ["machine", "machine_transitions"]


def machine_transitions(table: TransitionTable = TRANSITIONS) -> list[dict[str, Any]]:
    """The table as ``transitions`` transition dicts: one per edge, named by its operation.

    States are the statuses' wire values (``"in_progress"``), so callbacks read
    ``on_enter_in_progress``.

    Example:
        >>> [t for t in machine_transitions() if t["source"] == "requires_action"][0]
        {'trigger': 'submit_tool_outputs', 'source': 'requires_action', 'dest': 'queued'}
    """
    return [
        {"trigger": OPERATION_FOR_TARGET[dst].value, "source": src.value, "dest": dst.value}
        for src in RunStatus
        for dst in RunStatus
        if dst in table[src]
    ]


class _Apply:
    """The ``before`` callback of every edge: run the operation, store the new run.

    It raises (and the machine then stays where it was) when the operation refuses, for
    example a cancel that ``documented_only=True`` forbids, or tool outputs with the
    wrong ids. It works with ``send_event`` on (the default here) and off.
    """

    def __init__(self, operation: Callable[..., Run], attribute: str, bound: object) -> None:
        self.operation = operation
        self.attribute = attribute
        self.bound = bound

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        from transitions import EventData  # noqa: PLC0415 - imported with the machine

        model = self.bound
        if len(args) == 1 and not kwargs and isinstance(args[0], EventData):
            event = args[0]
            model, args, kwargs = event.model, tuple(event.args), event.kwargs
        run = getattr(model, self.attribute)
        setattr(model, self.attribute, self.operation(run, *args, **kwargs))


def machine(model: Any, *, attribute: str = "run", **machine_kwargs: Any) -> Any:
    """Return a ``transitions.Machine`` of the run lifecycle bound to ``model``.

    ``model`` holds a :class:`~runstate.Run` in its attribute ``attribute``. The machine
    starts in that run's status and adds one trigger per operation to ``model``:
    ``model.start(now=...)``, ``model.require_action(tool_calls, now=...)``,
    ``model.submit_tool_outputs(tool_outputs, now=...)``, ``model.cancel(now=...)``,
    ``model.finish_cancel(now=...)``, ``model.complete(now=..., usage=...)``,
    ``model.fail(now=..., error=...)``, ``model.mark_incomplete(now=..., reason=...)``,
    ``model.expire(now=...)``. Each takes the operation's own arguments, applies it to the
    held run, stores the new run and moves the machine to its status; then the
    ``on_enter_<status>`` callbacks run. A trigger the table does not allow from the
    current status raises ``transitions.MachineError``; an operation that refuses
    raises its runstate error. Either way the run and the state stay as they were.

    Limits (``transitions``' own model of callbacks):

    * a model added later with ``add_model`` must be given its run's status,
      ``m.add_model(other, initial=other.run.status.value)``;
    * with ``send_event=False`` the callbacks cannot tell models apart, so the operations
      apply to the model the machine was made for: keep the default to bind several;
    * the operation runs in the edge's ``before`` callback: an ``on_exit_<status>``
      callback that raises after it leaves the new run stored and the state where it
      was. Do side effects that may fail in ``on_enter_*`` or ``after_state_change``.

    Args:
        model: Any object with a ``Run`` in ``attribute``; ``transitions`` sets its
            ``state`` (the status's wire value) and adds the trigger methods.
        attribute: Where the model keeps its run.
        **machine_kwargs: Passed to ``transitions.Machine`` (``after_state_change``,
            ``on_exception``, ``model_attribute``...). ``states``, ``transitions`` and
            ``initial`` come from the table and the run and cannot be given.

    Returns:
        The ``transitions.Machine``.

    Raises:
        InvalidArgument: when ``model`` does not hold a ``Run`` in ``attribute``, or
            ``machine_kwargs`` names ``states``, ``transitions`` or ``initial``.

    Example:
        >>> import runstate as rs
        >>> class Job:
        ...     def __init__(self, run):
        ...         self.run = run
        ...         self.seen = []
        ...     def on_enter_cancelled(self, event):
        ...         self.seen.append(("webhook", event.model.run.cancelled_at))
        >>> job = Job(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                      model="gpt-4o", now=10))
        >>> m = rs.machine(job)
        >>> job.state, job.may_complete()
        ('queued', False)
        >>> job.cancel(now=11) and job.finish_cancel(now=12)
        True
        >>> job.state, job.run.status.value, job.seen
        ('cancelled', 'cancelled', [('webhook', 12)])
    """
    from transitions import Machine  # noqa: PLC0415 - lazy: keeps `import runstate` cheap

    from . import _ops  # noqa: PLC0415 - _ops imports this package's model; no cycle at use

    clash = sorted({"states", "transitions", "initial"} & machine_kwargs.keys())
    if clash:
        raise InvalidArgument("machine_kwargs", f"{clash} come from the table and the run")
    if not isinstance(attribute, str):
        raise InvalidArgument.expected("attribute", "an attribute name (a string)", attribute)
    run = getattr(model, attribute, None)
    if type(run) is not Run:
        raise InvalidArgument.expected(f"model.{attribute}", "a runstate.Run", run)
    edges = machine_transitions()
    for edge in edges:
        edge["before"] = _Apply(getattr(_ops, edge["trigger"]), attribute, model)
    options: dict[str, Any] = {"auto_transitions": False, "send_event": True}
    options.update(machine_kwargs)
    return Machine(
        model=model,
        states=[s.value for s in RunStatus],
        transitions=edges,
        initial=run.status.value,
        **options,
    )
