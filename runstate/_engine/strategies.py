"""Hypothesis strategies drawn from field-rule rows (imports hypothesis; `runstate` does not)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .fields import FieldRule

__all__ = ["within"]


def within(rule: FieldRule) -> SearchStrategy[Any]:
    """Values a field-rule row allows (its enum, range, length or pattern), never null."""
    if rule.values:
        return st.sampled_from(rule.values)
    low, high = rule.minimum, rule.maximum
    if rule.kind == "integer":
        return st.integers(
            None if low is None else math.ceil(low), None if high is None else math.floor(high)
        )
    if rule.kind == "number":
        whole = st.integers(
            None if low is None else math.ceil(low), None if high is None else math.floor(high)
        )
        return st.floats(low, high, allow_nan=False, allow_infinity=False) | whole
    if rule.kind == "map":
        return st.dictionaries(
            st.text(st.characters(codec="utf-8"), max_size=rule.key_length),
            st.text(st.characters(codec="utf-8"), max_size=rule.max_length),
            max_size=rule.max_items,
        )
    if rule.kind == "array":
        return st.lists(st.none(), max_size=rule.max_items).map(tuple)
    if rule.pattern is not None:
        size = rule.max_length
        return st.from_regex(rule.pattern, fullmatch=True).filter(
            lambda text: size is None or len(text) <= size
        )
    return st.text(st.characters(codec="utf-8"), max_size=rule.max_length)
