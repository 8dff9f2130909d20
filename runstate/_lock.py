"""The thread lock: a thread with an active run takes no new run, message or delete.

A run holds its thread's lock while it is active (``queued``, ``in_progress``,
``requires_action`` or ``cancelling``; spec-facts §4.4). These checks answer as the
real API does, with :class:`~runstate.ThreadBusy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._engine import templates as wire
from ._errors import InvalidArgument, ThreadBusy
from ._model import Run
from ._status import ACTIVE_STATUSES

__all__ = ["ensure_can_add_message", "ensure_can_create_run", "ensure_can_delete_thread"]


def _id(value: str) -> str:
    """An id inside one of the API's messages: whole, unless hostile (see MAX_ID_ECHO)."""
    return wire.echo(value)


def _active_on(thread_id: str, runs: Iterable[Run]) -> Run | None:
    if type(thread_id) is not str:
        raise InvalidArgument.expected("thread_id", "a string", thread_id)
    if isinstance(runs, str | bytes | Mapping) or not isinstance(runs, Iterable):
        raise InvalidArgument.expected("runs", "an iterable of runs", runs)
    for run in runs:
        if type(run) is not Run:
            raise InvalidArgument.expected("runs", "runs only", run)
        if run.thread_id == thread_id and run.status in ACTIVE_STATUSES:
            return run
    return None


def ensure_can_create_run(thread_id: str, runs: Iterable[Run]) -> None:
    """Refuse a new run on a thread that has an active run.

    A run holds its thread's lock while ``queued``, ``in_progress``, ``requires_action``
    or ``cancelling`` (the docs' thread lock; clients wait out ``cancelling``;
    spec-facts §4.4).

    Args:
        thread_id: The thread to create a run on.
        runs: The runs known on that thread (runs of other threads are ignored).

    Raises:
        ThreadBusy: ``Thread <thread_id> already has an active run <run_id>.``
        InvalidArgument: for a ``thread_id`` that is not a string, or ``runs`` that are
            not an iterable of runs.

    Example:
        >>> from runstate import cancel, finish_cancel, new_run
        >>> run = new_run(id="run_1", thread_id="thread_1", assistant_id="a", model="m",
        ...               now=10)
        >>> ensure_can_create_run("thread_1", [run])
        Traceback (most recent call last):
        ...
        runstate._errors.ThreadBusy: Thread thread_1 already has an active run run_1.
        >>> ensure_can_create_run("thread_1", [finish_cancel(cancel(run, now=11), now=12)])
    """
    active = _active_on(thread_id, runs)
    if active is not None:
        raise ThreadBusy(
            f"Thread {_id(thread_id)} already has an active run {_id(active.id)}.",
            reason="thread-has-active-run",
        )


def ensure_can_delete_thread(thread_id: str, runs: Iterable[Run]) -> None:
    """Refuse to delete a thread that has an active run, as the thread lock refuses.

    The lock's answer (spec-facts §4.4: 400, ``invalid_request_error``, param and code
    null) with the add-message template's wording for a delete (inferred: no refusal of
    a delete was recorded).

    Raises:
        ThreadBusy: ``Can't delete <thread_id> while a run <run_id> is active.``
        InvalidArgument: as :func:`ensure_can_create_run`.

    Example:
        >>> from runstate import new_run
        >>> run = new_run(id="run_1", thread_id="thread_1", assistant_id="a", model="m",
        ...               now=10)
        >>> ensure_can_delete_thread("thread_1", [run])
        Traceback (most recent call last):
        ...
        runstate._errors.ThreadBusy: Can't delete thread_1 while a run run_1 is active.
    """
    active = _active_on(thread_id, runs)
    if active is not None:
        raise ThreadBusy(
            f"Can't delete {_id(thread_id)} while a run {_id(active.id)} is active.",
            reason="thread-locked",
        )


def ensure_can_add_message(thread_id: str, runs: Iterable[Run]) -> None:
    """Refuse a new message on a thread that has an active run.

    Raises:
        ThreadBusy: ``Can't add messages to <thread_id> while a run <run_id> is active.``
        InvalidArgument: as :func:`ensure_can_create_run`.

    Example:
        >>> from runstate import new_run
        >>> run = new_run(id="run_1", thread_id="thread_1", assistant_id="a", model="m",
        ...               now=10)
        >>> try:
        ...     ensure_can_add_message("thread_1", [run])
        ... except ThreadBusy as exc:
        ...     print(exc.reason, exc.http_status)
        thread-locked 400
    """
    active = _active_on(thread_id, runs)
    if active is not None:
        raise ThreadBusy(
            f"Can't add messages to {_id(thread_id)} while a run {_id(active.id)} is active.",
            reason="thread-locked",
        )
