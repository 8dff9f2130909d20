"""``GET /threads/{thread_id}/runs``: the query, read as the API reads it, and the list page.

The page is the API's list object (spec ``ListRunsResponse``, spec-facts §1.2, §1.3):
``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``. Cursors are
run ids. Rules the spec leaves open, decided here (inferred, spec-facts §10 records
nothing on them):

* ``before=X`` gives the ``limit`` runs nearest *before* X, still in the list's order
  (so walking back with ``before=first_id`` retraces the pages walked forward).
* ``has_more`` says whether more runs lie beyond the page in the direction of travel:
  after its last run for a forward page, before its first run for a ``before`` page.
* A cursor naming no run of the list gives an empty page (``data: []``, ids null,
  ``has_more: false``), so a client walking pages stops; it is not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from ._engine import templates as wire
from ._engine.requests import query_int
from ._errors import InvalidArgument
from ._model import Message, Run, RunStep
from ._serde import dump_run
from ._step_table import dump_message, dump_step

__all__ = ["ListMessages", "ListRuns", "list_page", "parse_list_messages", "parse_list_runs"]

#: ``limit``: 1 to 100, default 20 (spec-facts §1.2).
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
_ORDERS: Final = ("asc", "desc")


def _check_limit(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument.expected("limit", "an int", value)
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidArgument.expected("limit", f"1 to {MAX_LIMIT}", value)


def _check_order(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if type(value) is not str or value not in _ORDERS:
        raise InvalidArgument.expected("order", "'asc' or 'desc'", value)


def _check_cursor(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgument.expected(attribute.name, "a run id (a string) or None", value)


@attrs.frozen(kw_only=True)
class ListRuns:
    """The query of ``GET /threads/{thread_id}/runs``.

    Built by :func:`parse_list_runs` from a request, or by hand; either way its fields
    are checked on construction.

    Attributes:
        limit: 1 to 100 (default 20).
        order: ``"asc"`` (oldest first) or ``"desc"`` (newest first, the default).
        after: A run id: the page starts after it.
        before: A run id: the page ends before it.

    Raises:
        InvalidArgument: naming the field, for a value of the wrong type or out of range
            (a hand-built query is the caller's own; the API's refusals of a request's
            query are :func:`parse_list_runs`'s).

    Example:
        >>> ListRuns(limit=0)
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidArgument: limit: expected 1 to 100, got 0 (a int)
    """

    limit: int = attrs.field(default=DEFAULT_LIMIT, validator=_check_limit)
    order: Literal["asc", "desc"] = attrs.field(default="desc", validator=_check_order)
    after: str | None = attrs.field(default=None, validator=_check_cursor)
    before: str | None = attrs.field(default=None, validator=_check_cursor)


def _one(value: object) -> object:
    """A query value: repeated parameters (a list) count by their last value."""
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    return value


def _limit(value: object) -> int:
    if isinstance(value, str):
        number = query_int(str.__str__(value))
        if number is None:
            # inferred: the API's type template, applied to the query parameter
            raise wire.invalid_type("limit", "an integer", value)
        value = number
    if not isinstance(value, int) or isinstance(value, bool):
        raise wire.invalid_type("limit", "an integer", value)
    if value < 1:
        raise wire.below_minimum("limit", 1, value, integer=True)  # inferred
    if value > MAX_LIMIT:
        raise wire.above_maximum("limit", MAX_LIMIT, value, integer=True)  # §10.2, INF
    return int(value)


def _read_query(query: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, object]:
    """The values of ``names`` in ``query`` (the last of repeated ones).

    A mapping that fails while being read is the server's bug: :class:`InvalidArgument`.
    """
    try:  # only these names are looked up: other parameters are never read
        return {k: _one(query.get(k)) for k in names}
    except Exception as exc:  # no URL gives one
        message = f"the mapping could not be read ({type(exc).__name__})"
        raise InvalidArgument("query", message) from None


def parse_list_runs(query: Mapping[str, Any] | None = None) -> ListRuns:
    """Read the list query (``limit``, ``order``, ``after``, ``before``).

    Values may be strings, as they come from a URL, or already typed; a parameter given
    several times counts by its last value; ``None`` or ``""`` means "not given". Other
    parameters are ignored.

    Raises:
        InvalidRequest: ``Invalid 'limit': integer above maximum value. Expected a value
            <= 100, but got 1000 instead.`` (spec-facts §10.2, inferred) and the same
            templates for ``limit < 1``, a non-integer ``limit`` and an ``order`` other
            than ``asc``/``desc`` (``Invalid value: 'up'. Supported values are: 'asc'
            and 'desc'.``), all inferred.

    Example:
        >>> parse_list_runs({"limit": "2", "order": "asc"})
        ListRuns(limit=2, order='asc', after=None, before=None)
        >>> parse_list_runs({"limit": "1000"}).limit
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'limit': integer above maximum value. \
Expected a value <= 100, but got 1000 instead.
    """
    if query is None:
        return ListRuns()
    if not isinstance(query, Mapping):
        raise InvalidArgument.expected("query", "a mapping", query)
    values = _read_query(query, ("limit", "order", "after", "before"))
    values = {k: v for k, v in values.items() if v is not None and v != ""}
    limit = _limit(values["limit"]) if "limit" in values else DEFAULT_LIMIT
    order = values.get("order", "desc")
    if not isinstance(order, str):
        raise wire.invalid_type("order", "a string", order)
    if order not in _ORDERS:
        raise wire.invalid_value("order", order, _ORDERS)  # inferred
    cursors: dict[str, str] = {}
    for name in ("after", "before"):
        if name in values:
            cursor = values[name]
            if not isinstance(cursor, str):
                raise wire.invalid_type(name, "a string", cursor)
            cursors[name] = str.__str__(cursor)
    return ListRuns(limit=limit, order=order, **cursors)  # type: ignore[arg-type]


#: What a list page holds: runs, steps, messages, or JSON objects with an ``"id"``.
Listable = Run | RunStep | Message | Mapping[str, Any]


@attrs.frozen(kw_only=True)
class ListMessages:
    """The query of ``GET /threads/{thread_id}/messages``: a page, and a run filter.

    Attributes:
        page: ``limit``, ``order``, ``after`` and ``before``, as a run list reads them.
        run_id: Only the messages this run wrote, or ``None`` for all.
    """

    page: ListRuns = attrs.field(factory=ListRuns)
    run_id: str | None = attrs.field(default=None, validator=_check_cursor)


def parse_list_messages(query: Mapping[str, Any] | None = None) -> ListMessages:
    """Read the list-messages query: :func:`parse_list_runs`'s parameters and ``run_id``.

    Raises:
        InvalidRequest: as :func:`parse_list_runs`; and for a ``run_id`` without the
            ``run`` prefix, the id template of spec-facts §10.2 (inferred here).

    Example:
        >>> q = parse_list_messages({"run_id": "run_1", "order": "asc"})
        >>> q.run_id, q.page.order
        ('run_1', 'asc')
        >>> parse_list_messages({"run_id": "msg_1"})
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'run_id': 'msg_1'. Expected an ID that \
begins with 'run'.
    """
    page = parse_list_runs(query)
    run_id = _read_query(query, ("run_id",)).get("run_id") if query is not None else None
    if run_id is None or run_id == "":
        return ListMessages(page=page)
    if not isinstance(run_id, str):
        raise wire.invalid_type("run_id", "a string", run_id)
    if not run_id.startswith("run"):
        raise wire.invalid_id("run_id", run_id, "run")
    return ListMessages(page=page, run_id=str.__str__(run_id))


def _dump(item: Listable) -> dict[str, Any]:
    kind = type(item)
    if kind is Run:
        return dump_run(item)  # type: ignore[arg-type]
    if kind is RunStep:
        return dump_step(item)  # type: ignore[arg-type]
    if kind is Message:
        return dump_message(item)  # type: ignore[arg-type]
    return dict(item)  # type: ignore[arg-type]


def _id_of(item: object) -> str:
    """The item's id; refuses what a list cannot hold (a server's bug)."""
    kind = type(item)
    if kind is Run or kind is RunStep or kind is Message:
        return item.id  # type: ignore[attr-defined, no-any-return]
    if isinstance(item, Mapping) and isinstance(item.get("id"), str):
        return str.__str__(item["id"])
    raise InvalidArgument.expected(
        "runs", "runs, run steps, messages or JSON objects with an 'id'", item
    )


def _empty() -> dict[str, Any]:
    return {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def list_page(
    runs: Iterable[Listable], query: ListRuns | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The API's list object for one page of a thread's runs, ready for ``json.dumps``.

    A run's steps page the same way (``GET .../runs/{run_id}/steps``): pass them instead;
    so do a thread's messages (:class:`~runstate.models.Message`, written by
    :func:`runstate.steps.dump_message`) and other objects the API lists (assistants),
    given as JSON objects with an ``"id"``, which are copied as they are.

    Args:
        runs: The thread's runs (or a run's steps) in the order they were created (oldest
            first), as the server keeps them; ``order="desc"`` lists them newest first.
        query: A :class:`ListRuns`, or the raw query (read by :func:`parse_list_runs`).

    Returns:
        A fresh dict: ``object``, ``data`` (each item as :func:`runstate.dump_run` or
        :func:`runstate.dump_step` writes it), ``first_id`` and ``last_id`` (null on an
        empty page) and ``has_more``.

    Raises:
        InvalidRequest: for a raw query the API refuses.
        InvalidArgument: for ``runs`` that is not an iterable of runs, steps, messages
            or JSON objects with a string ``"id"``.

    Example:
        >>> from runstate import new_run
        >>> runs = [new_run(id=f"run_{i}", thread_id="thread_1", assistant_id="asst_1",
        ...                 model="gpt-4o", now=100 + i) for i in range(3)]
        >>> page = list_page(runs, {"limit": "2"})
        >>> [r["id"] for r in page["data"]], page["first_id"], page["last_id"], page["has_more"]
        (['run_2', 'run_1'], 'run_2', 'run_1', True)
        >>> list_page(runs, {"limit": "2", "after": "run_1"})["data"][0]["id"]
        'run_0'
    """
    q = query if isinstance(query, ListRuns) else parse_list_runs(query)
    if isinstance(runs, str | bytes | Mapping) or not isinstance(runs, Iterable):
        raise InvalidArgument.expected("runs", "an iterable of runs or run steps", runs)
    ordered: Sequence[Listable] = list(runs)
    ids = [_id_of(item) for item in ordered]
    if q.order == "desc":
        ordered, ids = ordered[::-1], ids[::-1]
    start, stop = 0, len(ordered)
    if q.after is not None or q.before is not None:
        index = {item_id: i for i, item_id in enumerate(ids)}
        if q.after is not None:
            if q.after not in index:
                return _empty()
            start = index[q.after] + 1
        if q.before is not None:
            if q.before not in index:
                return _empty()
            stop = index[q.before]
    if q.before is not None and q.after is None:
        first = max(start, stop - q.limit)
        page, has_more = ordered[first:stop], first > start
    else:
        last = min(stop, start + q.limit)
        page, has_more = ordered[start:last], last < stop
    if not page:
        return _empty()
    return {
        "object": "list",
        "data": [_dump(item) for item in page],
        "first_id": _id_of(page[0]),
        "last_id": _id_of(page[-1]),
        "has_more": has_more,
    }
