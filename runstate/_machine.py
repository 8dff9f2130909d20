"""The ``transitions`` machine, built once from the table, for checking and drawing.

``transitions`` is used to declare and cross-check the lifecycle, never on the hot path:
a machine per run is the documented anti-pattern (transitions FAQ, issues #146 and #434),
and ``add_model`` cannot bind frozen attrs instances anyway (style.md, "transitions").
The machine is built lazily, on first use, so ``import runstate`` does not pay for
importing ``transitions``.

It is a shared, model-less machine (``model=None``) with ``auto_transitions=False`` (the
default would add ``to_<state>`` events that make every move legal) and
``ignore_invalid_triggers`` unset, so an illegal trigger raises ``MachineError``.
"""

from __future__ import annotations

import functools
from typing import Any

from ._status import RunStatus
from ._table import OPERATION_FOR_TARGET, TRANSITIONS, TransitionTable

__all__ = ["Cursor", "machine", "machine_transitions"]


def machine_transitions(table: TransitionTable = TRANSITIONS) -> list[dict[str, Any]]:
    """The table as ``transitions`` transition dicts: one per edge, trigger named by target."""
    return [
        {"trigger": OPERATION_FOR_TARGET[dst], "source": src, "dest": dst}
        for src in RunStatus
        for dst in RunStatus
        if dst in table[src]
    ]


@functools.cache
def machine() -> Any:
    """Return the one shared ``transitions.Machine`` built from :data:`TRANSITIONS`."""
    from transitions import Machine  # noqa: PLC0415 - lazy: keeps `import runstate` cheap

    return Machine(
        model=None,
        states=RunStatus,
        transitions=machine_transitions(),
        initial=None,
        auto_transitions=False,
        send_event=False,
    )


class Cursor:
    """A throwaway mutable holder for one status, to fire the shared machine's events on.

    Example:
        >>> cur = Cursor(RunStatus.IN_PROGRESS)
        >>> machine().events["cancel"].trigger(cur)
        True
        >>> cur.state
        <RunStatus.CANCELLING: 'cancelling'>
    """

    __slots__ = ("state",)

    def __init__(self, state: RunStatus) -> None:
        self.state = state
