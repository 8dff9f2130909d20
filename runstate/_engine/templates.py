r"""The real API's request-validation messages, built from its templates (spec-facts §10.1).

Every function returns an :class:`~runstate.InvalidRequest` carrying the exact message,
``param`` and ``code`` the API sends. The templates are recorded (§10.1 marks which were
seen on these endpoints and which on sibling endpoints); the messages built for cases no
recording covers follow the same templates and are inferred, as §10.2 says.

Client input inside a message or a ``param`` (a key, a path, an enum value, an id) goes
through :func:`echo`, the one rule for every refusal: at most :data:`MAX_ID_ECHO`
characters (real ids and keys are far shorter, so no real message changes) and no raw
lone surrogate (written as its ``\uXXXX`` escape), so every refusal body is short and
encodes as UTF-8.
"""

from __future__ import annotations

from typing import Final

from .errors import MAX_ECHO, MAX_ID_ECHO, InvalidRequest, shorten
from .jsonio import escape_surrogates

__all__ = [
    "array_too_long",
    "bad_json_body",
    "echo",
    "below_minimum",
    "above_maximum",
    "invalid_id",
    "invalid_type",
    "invalid_value",
    "json_type",
    "missing_beta_header",
    "missing_parameter",
    "pattern_mismatch",
    "string_too_long",
    "too_many_properties",
    "unknown_parameter",
]

_WORDS: Final[dict[type, str]] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    dict: "an object",
    list: "an array",
}


def echo(text: str) -> str:
    r"""Client input as a refusal shows it: bounded, and without a raw lone surrogate.

    Example:
        >>> len(echo("k" * 100_000)), echo("x\ud800")
        (200, 'x\\ud800')
    """
    return escape_surrogates(shorten(str.__str__(text), MAX_ID_ECHO))


def json_type(value: object) -> str:
    """How the API's validator names a JSON value's type (``a string``, ``null``...).

    Example:
        >>> json_type(True), json_type(None), json_type([])
        ('a boolean', 'null', 'an array')
    """
    word = _WORDS.get(type(value))
    if word is not None:
        return word
    for base, name in _WORDS.items():  # subclasses: a str subclass is still a string
        if isinstance(value, base):
            return name
    return f"a {type(value).__name__}"


def invalid_type(param: str, expected: str, value: object) -> InvalidRequest:
    """``Invalid type for 'X': expected T, but got U instead.`` (code ``invalid_type``).

    Example:
        >>> invalid_type("metadata.modified", "a string", True).message
        "Invalid type for 'metadata.modified': expected a string, but got a boolean instead."
    """
    param = echo(param)
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing_parameter(param: str) -> InvalidRequest:
    """``Missing required parameter: 'X'.`` (code ``missing_required_parameter``)."""
    param = echo(param)
    return InvalidRequest(
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def unknown_parameter(param: str) -> InvalidRequest:
    """``Unknown parameter: 'X'.`` (code ``unknown_parameter``; seen on create thread-and-run)."""
    param = echo(param)
    return InvalidRequest(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def _number(value: float) -> str:
    """A number as the API's messages show it, shortened (a 5000-digit int cannot be)."""
    if type(value) is not int:
        return shorten(repr(value))
    if -(10**MAX_ECHO) < value < 10**MAX_ECHO:
        return str(value)
    sign = "a negative" if value < 0 else "an"
    return f"{sign} integer of {MAX_ECHO} digits or more"


def below_minimum(param: str, minimum: float, value: float, *, integer: bool) -> InvalidRequest:
    """``Invalid 'X': integer below minimum value. Expected a value >= N, ...``.

    The word (and the code) follows the parameter's type: ``integer`` for an integer
    parameter (``integer_below_min_value``), ``decimal`` for a number
    (``decimal_below_min_value``), whatever the value given.

    Example:
        >>> below_minimum("max_prompt_tokens", 256, 16, integer=True).code
        'integer_below_min_value'
    """
    word = "integer" if integer else "decimal"
    param = echo(param)
    return InvalidRequest(
        f"Invalid '{param}': {word} below minimum value. Expected a value >= "
        f"{_number(minimum)}, but got {_number(value)} instead.",
        param=param,
        code=f"{word}_below_min_value",
    )


def above_maximum(param: str, maximum: float, value: float, *, integer: bool) -> InvalidRequest:
    """``Invalid 'X': decimal above maximum value. Expected a value <= N, ...``.

    Example:
        >>> above_maximum("temperature", 2, 200, integer=False).message.split(". ")[1]
        'Expected a value <= 2, but got 200 instead.'
    """
    word = "integer" if integer else "decimal"
    param = echo(param)
    return InvalidRequest(
        f"Invalid '{param}': {word} above maximum value. Expected a value <= "
        f"{_number(maximum)}, but got {_number(value)} instead.",
        param=param,
        code=f"{word}_above_max_value",
    )


def _too_many(param: str, what: str, limit: str, got: str, code: str) -> InvalidRequest:
    """The shape ``Invalid 'X': <what>. Expected <limit>, but got <got> instead.``."""
    param = echo(param)
    return InvalidRequest(
        f"Invalid '{param}': {what}. Expected {limit}, but got {got} instead.",
        param=param,
        code=code,
    )


def string_too_long(param: str, maximum: int, length: int) -> InvalidRequest:
    """``Invalid 'X': string too long. Expected a string with maximum length N, ...``."""
    return _too_many(
        param,
        "string too long",
        f"a string with maximum length {maximum}",
        f"a string with length {length}",
        "string_above_max_length",
    )


def array_too_long(param: str, maximum: int, length: int) -> InvalidRequest:
    """``Invalid 'X': array too long. Expected an array with maximum length N, ...``."""
    return _too_many(
        param,
        "array too long",
        f"an array with maximum length {maximum}",
        f"an array with length {length}",
        "array_above_max_length",
    )


def too_many_properties(param: str, maximum: int, count: int) -> InvalidRequest:
    """``Invalid 'X': too many properties. Expected an object with at most N properties, ...``."""
    return _too_many(
        param,
        "too many properties",
        f"an object with at most {maximum} properties",
        f"an object with {count} properties",
        "object_above_max_properties",
    )


#: The gateway's answer to a body that is not JSON (spec-facts §10.2, seen on chat).
BAD_JSON_MESSAGE: Final = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
    "contact us through our help center at help.openai.com.)"
)


def bad_json_body() -> InvalidRequest:
    """The 400 for a request body that is not valid JSON (``param`` and ``code`` null)."""
    return InvalidRequest(BAD_JSON_MESSAGE, reason="invalid-json")


def invalid_value(param: str, value: str, supported: tuple[str, ...]) -> InvalidRequest:
    """A value outside an enum (code ``invalid_value``; inferred).

    spec-facts §10 found no enum error on the run endpoints; this is the wording the same
    API uses for enums elsewhere: ``Invalid value: 'v'. Supported values are: 'a', 'b',
    and 'c'.`` (inferred for these endpoints).

    Example:
        >>> invalid_value("order", "up", ("asc", "desc")).message
        "Invalid value: 'up'. Supported values are: 'asc' and 'desc'."
    """
    quoted = [f"'{v}'" for v in supported]
    if len(quoted) <= 2:
        listed = " and ".join(quoted)
    else:
        listed = ", ".join(quoted[:-1]) + ", and " + quoted[-1]
    param = echo(param)
    return InvalidRequest(
        f"Invalid value: '{echo(value)}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def invalid_id(param: str, value: str, prefix: str) -> InvalidRequest:
    """``Invalid 'X': 'v'. Expected an ID that begins with 'p'.`` (code ``invalid_value``).

    Observed for ``assistant_id`` (param and code too) and for the ``thread_id`` path
    parameter (message only); spec-facts §10.1, §10.2.

    Example:
        >>> invalid_id("assistant_id", "wf_6927", "asst").message
        "Invalid 'assistant_id': 'wf_6927'. Expected an ID that begins with 'asst'."
    """
    param = echo(param)
    return InvalidRequest(
        f"Invalid '{param}': '{echo(value)}'. Expected an ID that begins with '{prefix}'.",
        param=param,
        code="invalid_value",
    )


def pattern_mismatch(param: str, pattern: str) -> InvalidRequest:
    """A string that does not match the schema's pattern (code ``invalid_value``; inferred).

    Example:
        >>> for part in pattern_mismatch("tools[0].function.name", "^[a-z]+$").message.split(". "):
        ...     print(part)
        Invalid 'tools[0].function.name': string does not match pattern
        Expected a string that matches the pattern '^[a-z]+$'.
    """
    param = echo(param)
    return InvalidRequest(
        f"Invalid '{param}': string does not match pattern. Expected a string that matches "
        f"the pattern '{pattern}'.",
        param=param,
        code="invalid_value",
    )


#: The 400 for a request without ``OpenAI-Beta: assistants=v2`` (spec-facts §10.2, OBS).
MISSING_BETA_MESSAGE: Final = (
    "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try "
    "again by setting the header 'OpenAI-Beta: assistants=v2'."
)


def missing_beta_header() -> InvalidRequest:
    """The 400 for a missing ``OpenAI-Beta`` header (code ``invalid_beta``, param null)."""
    return InvalidRequest(MISSING_BETA_MESSAGE, code="invalid_beta")
