"""The run's wire schema, as its consumers read it.

The rows (per class, wire key -> kind, in the real API's key order) are declared with
the classes, in :mod:`runstate._model`, which registers them with the schema engine
(:mod:`runstate._engine.schema`) and generates their code
(:mod:`runstate._engine.codegen`) as it is imported: a value can be built and parsed as
soon as its class exists. This module gathers what the run's other declarations read:
the rows (:data:`SCHEMA`), the dumpers, and the JSON value rules
(:mod:`runstate._engine.jsonvalue`).
"""

from __future__ import annotations

from ._engine.jsonvalue import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_JSON_ITEMS,
    freeze_value,
    thaw_json,
    to_json_value,
)
from ._engine.schema import DUMPERS, explain
from ._model import COMMON_VALUES, LATE_KEYS, LIKELY_EXTRAS, SCHEMA

__all__ = [
    "COMMON_VALUES",
    "DUMPERS",
    "LATE_KEYS",
    "LIKELY_EXTRAS",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_ITEMS",
    "SCHEMA",
    "explain",
    "freeze_value",
    "thaw_json",
    "to_json_value",
]
