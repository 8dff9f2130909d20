"""What one test case of the Run kit holds: the implementation, its runs, their steps.

:class:`Kit` is the engine's :class:`~runstate.testing._engine.Machine` with the Run
kit's state; the run checks, the step checks and the program (the hypothesis rules)
are its subclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NamedTuple

import attrs
from hypothesis.errors import InvalidArgument

from .._model import Run, RunStep
from .._trace import TraceChecker
from . import _engine as engine
from ._adapters import REQUIRED, Implementation, Response, StepKind

__all__ = ["Kit", "Options", "StepView", "Tally"]


class Tally(engine.Tally):
    """What one search saw, and whether the implementation listed run steps."""

    def __init__(self) -> None:
        super().__init__()
        #: Whether the implementation lists steps (set by each test case).
        self.steps_checked = False


class Options(NamedTuple):
    """The Run kit's arguments, as each test case of one search sees them."""

    factory: Callable[[], Implementation]
    documented_only: bool
    probe_unknown_fields: bool
    steps: frozenset[StepKind]
    assistant_id: str
    tolerated: frozenset[str]
    tally: Tally


@attrs.define
class StepView:
    """A run's steps at the kit's last listing of them, with the run then.

    ``steps`` are in creation order. ``hidden`` holds the steps first listed already
    ended (opened and ended between two listings): the replayed stream leaves them out,
    since it never saw them open. ``checker`` replays the run's history as one stream;
    ``None`` once the history is no longer a lifecycle (a tolerated divergence).
    """

    run: Run
    steps: tuple[RunStep, ...]
    hidden: frozenset[str]
    checker: TraceChecker | None


class Kit(engine.Machine):
    """One test case: a fresh implementation, two threads, and the reference runs."""

    options: ClassVar[Options]  # the engine's, narrowed

    def __init__(self) -> None:
        super().__init__()
        opts = self.options
        impl = opts.factory()
        needed = REQUIRED + (("drive",) if opts.steps else ())
        missing = [m for m in needed if not callable(getattr(impl, m, None))]
        if missing:
            raise InvalidArgument(
                f"the factory returned {impl!r}, which lacks {', '.join(missing)}: "
                "see runstate.testing.Implementation"
            )
        self.impl = impl
        self.tally = opts.tally
        create_assistant = getattr(impl, "create_assistant", None)
        self.assistant_id = create_assistant() if callable(create_assistant) else opts.assistant_id
        if not isinstance(self.assistant_id, str):
            raise InvalidArgument(
                f"create_assistant() returned {self.assistant_id!r}; expected an id string"
            )
        self.threads = (impl.create_thread(), impl.create_thread())
        #: run id -> the reference: the last response the kit accepted for it.
        self.ref: dict[str, Run] = {}
        #: The run the next requests go to.
        self.latest: str | None = None
        self.calls = 0
        self.asked = 0
        #: Runs adopted after a tolerated divergence moved them off the table: their
        #: history is no longer a lifecycle, so it is not checked as a poll trace.
        self.off_table: set[str] = set()
        list_steps = getattr(impl, "list_steps", None)
        #: The implementation's ``list_steps``, or ``None``: steps are then not checked.
        self.list_steps: Callable[[str, str], Response] | None = (
            list_steps if callable(list_steps) else None
        )
        self.tally.steps_checked = self.list_steps is not None
        #: run id -> its steps at the last listing.
        self.views: dict[str, StepView] = {}
        #: Runs whose last listing was malformed: the next one is not compared move by
        #: move, and their replayed stream stops (it has a hole).
        self.gaps: set[str] = set()

    def teardown(self) -> None:
        close = getattr(self.impl, "close", None)
        try:
            if callable(close):
                close()
        finally:
            super().teardown()
