"""The field-rule engine: one row per fact about a field, judged two ways.

A :class:`FieldRule` says what a field allows: its values (read from a ``Literal``), a
range, a length, a count or a pattern, with the evidence and a severity. A machine's
table of rules (the Run's is :data:`runstate._fields.FIELD_RULES`) is read by the
request reader, which stops at the first problem and answers with the API's exact
message (:mod:`runstate._engine.requests`), and by :func:`judge`, which lists every
problem of a value for ``violations`` and ``explain``; the strategies draw inside it.
Nothing here knows a Run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, TypeAlias

import attrs

from .errors import MAX_ID_ECHO, shorten

__all__ = ["FieldRule", "Kind", "Severity", "check_rules", "judge", "judge_all", "rules_by_owner"]

Severity: TypeAlias = Literal["error", "warning"]
#: The JSON type a rule's field holds: a ``map`` is an object of string values.
Kind: TypeAlias = Literal["string", "integer", "number", "array", "map"]
_KINDS: Final = frozenset({"string", "integer", "number", "array", "map"})


@attrs.frozen(kw_only=True)
class FieldRule:
    """One fact about one field (or several fields sharing it), with its evidence.

    Attributes:
        on: What carries the field: value class names (``"Run"``, ``"RankingOptions"``)
            or the spec's request schemas (``"CreateAssistantRequest"``).
        keys: The field's key (or keys sharing the fact) in each of them.
        kind: The JSON type of the field's value.
        values: The allowed values of a string (from the model's ``Literal``), or ``()``.
        minimum: The smallest number allowed, or ``None``.
        maximum: The largest number allowed, or ``None``.
        max_length: The most characters of a string (of each value, for a map).
        max_items: The most items of an array (keys, for a map).
        key_length: The most characters of each key of a map.
        pattern: A regular expression the whole string must match.
        evidence: Where the fact comes from (spec-facts sections, the spec's schema).
        severity: ``"warning"`` where the real API does not enforce it.
        rule: The stable kebab-case name a broken rule is reported under.
        note: Added to a broken rule's message, in parentheses.
        request: Whether the request reader enforces it (``False``: only values the API
            sends carry it).
    """

    on: tuple[str, ...]
    keys: tuple[str, ...]
    kind: Kind
    evidence: str
    rule: str
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    max_items: int | None = None
    key_length: int | None = None
    pattern: str | None = None
    severity: Severity = "error"
    note: str = ""
    request: bool = True

    @property
    def regex(self) -> re.Pattern[str] | None:
        """:attr:`pattern`, compiled."""
        return None if self.pattern is None else _compiled(self.pattern)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


def check_rules(rows: Iterable[FieldRule]) -> None:
    """Refuse a malformed table at import: every row must be one a judge can read.

    Raises:
        ValueError: naming the row and what is wrong with it.
    """
    for row in rows:
        problem = None
        if not row.on or not row.keys or row.kind not in _KINDS:
            problem = "needs owners, keys and a known kind"
        elif row.values and (row.kind != "string" or not all(type(v) is str for v in row.values)):
            problem = "values belong to a string field"
        elif row.minimum is not None and row.maximum is not None and row.minimum > row.maximum:
            problem = "minimum above maximum"
        elif (row.minimum is not None or row.maximum is not None) and row.kind not in (
            "integer",
            "number",
        ):
            problem = "a range belongs to a number"
        elif row.severity not in ("error", "warning") or not row.rule:
            problem = "needs a severity and a rule name"
        if problem is None and row.pattern is not None:
            _compiled(row.pattern)
        if problem is not None:
            raise ValueError(f"field rule {row.rule or row.keys!r}: {problem}")


def rules_by_owner(rows: Iterable[FieldRule]) -> dict[str, tuple[tuple[str, FieldRule], ...]]:
    """Owner -> its ``(key, rule)`` pairs, in table order (what a value's judge reads)."""
    out: dict[str, list[tuple[str, FieldRule]]] = {}
    for row in rows:
        for owner in row.on:
            out.setdefault(owner, []).extend((key, row) for key in row.keys)
    return {owner: tuple(pairs) for owner, pairs in out.items()}


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def judge(rule: FieldRule, value: object) -> list[tuple[str, str]]:
    """Every way ``value`` breaks ``rule``: ``(path suffix, message)`` pairs; ``[]`` if none.

    ``None`` breaks nothing (presence is another table's business); a value of another
    type is the wire schema's business, so only what the rule limits is judged.

    Example:
        >>> row = FieldRule(on=("Run",), keys=("top_p",), kind="number", minimum=0,
        ...                 maximum=1, evidence="spec", rule="top-p-range")
        >>> judge(row, 1.5), judge(row, 0.5)
        ([('', '1.5 is outside 0..1')], [])
    """
    found: list[tuple[str, str]] = []
    note = f" ({rule.note})" if rule.note else ""
    if isinstance(value, bool) or value is None:
        return found
    if isinstance(value, int | float):
        low, high = rule.minimum, rule.maximum
        if low is not None and high is not None and not low <= value <= high:
            found.append(("", f"{_number(value)} is outside {_number(low)}..{_number(high)}{note}"))
        elif low is not None and high is None and value < low:
            found.append(("", f"{_number(value)} is below {_number(low)}{note}"))
        elif high is not None and low is None and value > high:
            found.append(("", f"{_number(value)} is above {_number(high)}{note}"))
    elif isinstance(value, str):
        found.extend(_judge_text(rule, value, note))
    elif isinstance(value, Mapping):
        if rule.max_items is not None and len(value) > rule.max_items:
            found.append(("", f"{len(value)} keys; at most {rule.max_items} allowed{note}"))
        for key, item in value.items():
            where = f".{shorten(key, MAX_ID_ECHO)}"
            if rule.key_length is not None and len(key) > rule.key_length:
                message = f"key is {len(key)} characters; at most {rule.key_length} allowed"
                found.append((where, message + note))
            if rule.max_length is not None and len(item) > rule.max_length:
                message = f"value is {len(item)} characters; at most {rule.max_length} allowed"
                found.append((where, message + note))
    elif isinstance(value, Sequence) and rule.max_items is not None and len(value) > rule.max_items:
        found.append(("", f"{len(value)} items; at most {rule.max_items} allowed{note}"))
    return found


def _judge_text(rule: FieldRule, value: str, note: str) -> list[tuple[str, str]]:
    if rule.values and value not in rule.values:
        return [("", f"{shorten(repr(value))} is not one of {list(rule.values)}{note}")]
    if rule.max_length is not None and len(value) > rule.max_length:
        return [("", f"{len(value)} characters; at most {rule.max_length} allowed{note}")]
    regex = rule.regex
    if regex is not None and regex.fullmatch(value) is None:
        return [("", f"{shorten(repr(value))} does not match {rule.pattern}{note}")]
    return []


_CHILDREN: dict[type, tuple[str, ...]] = {}


def _children(cls: type) -> tuple[str, ...]:
    names = _CHILDREN.get(cls)
    if names is None:
        skip = {"extra", "absent"}
        names = _CHILDREN[cls] = tuple(f.name for f in attrs.fields(cls) if f.name not in skip)
    return names


def _values(value: object, path: str) -> Iterable[tuple[str, object]]:
    """``value`` and every attrs value inside it (in tuples too), with their paths."""
    todo = [(path, value)]
    while todo:
        where, item = todo.pop()
        yield where, item
        found = []
        for name in _children(type(item)):
            child = getattr(item, name)
            at = f"{where}.{name}" if where else name
            if attrs.has(type(child)):
                found.append((at, child))
            elif isinstance(child, tuple):
                found.extend((f"{at}[{i}]", c) for i, c in enumerate(child) if attrs.has(type(c)))
        todo.extend(reversed(found))


def judge_all(
    value: object, by_owner: Mapping[str, tuple[tuple[str, FieldRule], ...]]
) -> list[tuple[str, FieldRule, str]]:
    """Every broken rule in an attrs value and the values inside it, in document order.

    Each value is judged by its class's rows (``by_owner``, from :func:`rules_by_owner`);
    a field one row already found broken is not reported again by a later row of the
    same field (the table lists an error row before its warning row).

    Returns:
        ``(path, rule, message)`` triples.
    """
    found: list[tuple[str, FieldRule, str]] = []
    for where, item in _values(value, ""):
        pairs = by_owner.get(type(item).__name__, ())
        broken: set[str] = set()
        for key, rule in pairs:
            if key in broken:
                continue
            problems = judge(rule, getattr(item, key))
            if problems:
                broken.add(key)
            at = f"{where}.{key}" if where else key
            found.extend((at + suffix, rule, message) for suffix, message in problems)
    return found
