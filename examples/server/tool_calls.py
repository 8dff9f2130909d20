"""The scripted worker's function calls: which functions a run calls, with what arguments.

The ``--auto`` worker plays the model. It calls every function tool the run offers (the
run's tools are the assistant's unless the run overrides them), or as ``tool_choice``
says: ``none`` calls nothing, ``auto`` and ``required`` call every function, a named
function calls that one. With ``parallel_tool_calls`` true, all the calls come in one
``requires_action`` round; with false, one call per round.

Arguments are valid for each function's ``parameters`` (a JSON schema), drawn by
hypothesis-jsonschema (``from_schema``), a maintained generator, and deterministic per
run: the draw is seeded from the run id and the function's name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import runstate as rs

log = logging.getLogger("runstate.server")

#: A schema hypothesis-jsonschema cannot draw from gets these arguments (logged).
FALLBACK_ARGUMENTS = "{}"


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big")


def arguments_for(schema: Mapping[str, Any] | None, seed: int) -> str:
    """JSON text valid for ``schema`` (a function's ``parameters``), the same for a seed.

    No schema means a function without parameters: ``{}``. Drawn once per schema and
    seed (the worker decides a change again when it loses a race).
    """
    if not schema:
        return "{}"
    return _drawn(json.dumps(closed(schema), sort_keys=True), seed)


def closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on each object schema that names
    its properties and says nothing of others: what a model sends (and OpenAI's strict
    mode requires), a subset of what the schema allows, so still valid for it."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: closed(v) if k != "properties" else v for k, v in schema.items()}
    if isinstance(schema.get("properties"), Mapping):
        out["properties"] = {k: closed(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and "patternProperties" not in schema:
            out["additionalProperties"] = False
    return out


_END = object()


class _LegacyMany:
    """hypothesis's older ``many(...)`` protocol (``while elements.more():``), over the
    newer one (``with many(...) as elements: for _ in elements:``).

    hypothesis-jsonschema 0.23.1 (its newest release) draws object keys with the older
    protocol, which hypothesis 6.170 no longer has ("'many' object has no attribute
    'more'"). This adapter is handed to hypothesis-jsonschema alone (see
    :func:`_compatible`); hypothesis itself is left as it is.
    """

    def __init__(self, many: Any, data: Any, **sizes: Any) -> None:
        self._many = many(data, **sizes)
        self._many.__enter__()
        self._elements = iter(self._many)

    def more(self) -> bool:
        if next(self._elements, _END) is _END:
            self._many.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


@functools.cache
def _compatible() -> Any:
    """hypothesis-jsonschema's ``from_schema``, given :class:`_LegacyMany` when the
    installed hypothesis has the newer ``many``."""
    import types  # noqa: PLC0415

    from hypothesis.internal.conjecture import utils  # noqa: PLC0415
    from hypothesis_jsonschema import _from_schema, from_schema  # noqa: PLC0415

    if not hasattr(utils.many, "more"):
        shim = types.SimpleNamespace(**vars(utils))
        shim.many = functools.partial(_LegacyMany, utils.many)
        _from_schema.cu = shim  # type: ignore[attr-defined]
    return from_schema


@functools.lru_cache(maxsize=1024)
def _drawn(schema_text: str, seed: int) -> str:
    schema = json.loads(schema_text)
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415
    from hypothesis import seed as seeded  # noqa: PLC0415

    from_schema = _compatible()

    found: list[Any] = []
    try:
        strategy = from_schema(schema, allow_x00=False)

        @seeded(seed)
        @settings(
            max_examples=3,  # the first is the simplest value; the last is drawn
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def draw(value: Any) -> None:
            found.append(value)

        draw()
    except Exception as exc:
        log.warning("no arguments drawn for schema (%s); sending %s", exc, FALLBACK_ARGUMENTS)
        return FALLBACK_ARGUMENTS
    if not found:
        return FALLBACK_ARGUMENTS
    return json.dumps(found[-1], separators=(",", ":"))


def planned_functions(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The function tools (``{"name", "parameters"...}``) the run is to call, in order."""
    functions = [t["function"] for t in run.get("tools") or () if t.get("type") == "function"]
    choice = run.get("tool_choice")
    if choice is None or choice in ("auto", "required"):
        return functions
    if choice == "none":
        return []
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return [f for f in functions if f.get("name") == name][:1]
    return []  # a named code_interpreter / file_search: no function call


def called_functions(steps: Sequence[rs.RunStep]) -> list[str]:
    """The names of the functions the run's ``tool_calls`` steps called so far."""
    names = []
    for step in steps:
        if step.type != "tool_calls":
            continue
        for call in rs.steps.dump_step(step)["step_details"]["tool_calls"]:
            if call.get("type") == "function":
                names.append(call["function"]["name"])
    return names


def next_functions(life: rs.steps.RunLife) -> list[Mapping[str, Any]]:
    """The functions of the run's next ``requires_action`` round; ``[]`` when it is done
    calling functions. Each planned function is called once."""
    run = rs.dump_run(life.run)
    remaining = list(planned_functions(run))
    for name in called_functions(life.steps):
        for i, function in enumerate(remaining):
            if function.get("name") == name:
                del remaining[i]
                break
    if run.get("parallel_tool_calls") is False:
        remaining = remaining[:1]
    return remaining


def next_calls(life: rs.steps.RunLife) -> list[dict[str, Any]]:
    """The calls (with their arguments) of the run's next ``requires_action`` round."""
    calls = []
    for function in next_functions(life):
        seed = _seed(life.run.id, function["name"])
        calls.append(
            {
                "id": f"call_{seed:016x}",
                "type": "function",
                "function": {
                    "name": function["name"],
                    "arguments": arguments_for(function.get("parameters"), seed),
                },
            }
        )
    return calls
