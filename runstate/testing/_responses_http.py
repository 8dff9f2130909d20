"""Survey any server the official openai SDK can reach: the Responses kit's adapter.

:class:`ResponsesThroughSDK` is a :class:`~runstate.testing.ResponsesImplementation` that
sends each operation through ``openai.OpenAI(base_url=...)`` (its ``with_raw_response``
and ``with_streaming_response`` views keep the HTTP status and the exact body, refusals
included; streams are read as raw SSE, so a ``[DONE]`` stays visible).
:func:`survey_responses_url` surveys a URL in one call, and
``python -m runstate.testing responses URL`` in one command.

openai (``pip install openai``) is imported when an adapter is made, not before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import hypothesis

from .._engine.sse import parse_sse
from ._adapters import HttpResponse
from ._report import ConformanceReport
from ._response_rules import DRIVE_KINDS, DriveKind, ResponseStep
from ._responses import response_conformance

__all__ = ["ADVANCE_PATH", "ResponsesThroughSDK", "survey_responses_url"]

#: The example server's worker hook (``examples/server``): ``POST`` ``{"to": status, ...}``.
ADVANCE_PATH = "/responses/{id}/advance"
#: Each drive kind as the hook's ``to``.
_TARGETS: Mapping[str, str] = {
    "start": "in_progress",
    "complete": "completed",
    "fail": "failed",
    "mark_incomplete": "incomplete",
}


def _body(content: bytes) -> Any:
    """A body as JSON, or its text when it is not JSON (an empty 404, an HTML page)."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


class ResponsesThroughSDK:
    """The Responses endpoints of ``base_url``, reached through the official openai SDK.

    Args:
        base_url: What ``openai.OpenAI(base_url=...)`` takes, such as
            ``http://127.0.0.1:8000/v1``.
        api_key: Sent as the bearer token.
        advance_path: The server's worker hook, relative to ``base_url``, with ``{id}``
            for the response id: the kit's ``drive`` posts ``{"to": <status>, "output",
            "usage", "error", "reason"}`` there (the example server's ``/advance``).
            ``None``: no drive (survey with ``steps=()``).
        timeout: Seconds per request (a stream is read until it ends).

    Example:
        >>> adapter = ResponsesThroughSDK("http://127.0.0.1:9/v1", advance_path=None)
        >>> hasattr(adapter, "drive"), adapter.client.max_retries
        (False, 0)
        >>> adapter.close()
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "runstate-conformance",
        advance_path: str | None = ADVANCE_PATH,
        timeout: float = 30.0,
    ) -> None:
        import httpx  # noqa: PLC0415 - the SDK's own transport
        import openai  # noqa: PLC0415 - only an adapter needs the SDK

        self._openai = openai
        self._httpx = httpx
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout
        )
        self.advance_path = advance_path
        if advance_path is not None:
            self.drive = self._drive

    def _call(self, send: Callable[[], Any]) -> HttpResponse:
        """``send()`` through ``with_raw_response``: the status and body, refusals too."""
        try:
            raw = send()
        except self._openai.APIStatusError as err:
            return HttpResponse(err.status_code, _body(err.response.content))
        return HttpResponse(raw.http_response.status_code, _body(raw.http_response.content))

    @contextmanager
    def _stream(self, open_stream: Callable[[], Any]) -> Iterator[tuple[int, Any]]:
        """``open_stream()`` through ``with_streaming_response``: its status and events.

        Events are ``(event, data)`` pairs, read lazily; a refusal gives its body.
        """
        try:
            with open_stream() as raw:
                yield raw.status_code, parse_sse(raw.iter_lines())
        except self._openai.APIStatusError as err:
            yield err.status_code, _body(err.response.content)

    def create(self, request: Mapping[str, Any]) -> HttpResponse:
        params = dict(request)
        responses = self.client.responses
        if not params.get("stream"):
            return self._call(lambda: responses.with_raw_response.create(**params))
        with self._stream(lambda: responses.with_streaming_response.create(**params)) as (
            status,
            events,
        ):
            if isinstance(events, str | Mapping):
                return HttpResponse(status, events)
            for _, data in events:  # the first event: response.created, then drop it
                first = _body(data.encode())
                found = first.get("response") if isinstance(first, Mapping) else None
                return HttpResponse(status, found if found is not None else first)
            return HttpResponse(status, [])

    def retrieve(self, response_id: str) -> HttpResponse:
        raw = self.client.responses.with_raw_response
        return self._call(lambda: raw.retrieve(response_id))

    def retrieve_stream(self, response_id: str, starting_after: int | None) -> HttpResponse:
        options: dict[str, Any] = {"stream": True}
        if starting_after is not None:
            options["starting_after"] = starting_after
        streaming = self.client.responses.with_streaming_response
        with self._stream(lambda: streaming.retrieve(response_id, **options)) as (status, events):
            if isinstance(events, str | Mapping):
                return HttpResponse(status, events)
            return HttpResponse(status, list(events))

    def cancel(self, response_id: str) -> HttpResponse:
        raw = self.client.responses.with_raw_response
        return self._call(lambda: raw.cancel(response_id))

    def delete(self, response_id: str) -> HttpResponse:
        raw = self.client.responses.with_raw_response
        return self._call(lambda: raw.delete(response_id))

    def _drive(self, response_id: str, step: ResponseStep) -> HttpResponse:
        assert self.advance_path is not None
        payload = step.to_json()
        body = {
            "to": _TARGETS[step.kind],
            "output": payload["output"] if step.kind in ("complete", "mark_incomplete") else None,
            "usage": payload["usage"],
            "error": payload["error"],
            "reason": payload["reason"],
        }
        path = self.advance_path.format(id=response_id)
        try:
            raw = self.client.post(path, body=body, cast_to=self._httpx.Response)
        except self._openai.APIStatusError as err:
            return HttpResponse(err.status_code, _body(err.response.content))
        return HttpResponse(raw.status_code, _body(raw.content))

    def close(self) -> None:
        self.client.close()


def survey_responses_url(
    base_url: str,
    *,
    advance_path: str | None = ADVANCE_PATH,
    api_key: str = "runstate-conformance",
    timeout: float = 30.0,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    max_examples: int | None = None,
    accept: Collection[str] = (),
    steps: Collection[DriveKind] | None = None,
    max_divergences: int | None = None,
) -> ConformanceReport:
    """Survey the Responses endpoints at ``base_url`` through the openai SDK, in one call.

    :func:`response_conformance` of :class:`ResponsesThroughSDK` (one client per test
    case). ``steps`` defaults to every drive kind with an ``advance_path``, none without.

    Example:
        In a script, against the example server started with no worker::

            report = survey_responses_url("http://127.0.0.1:8000/v1", seed=1,
                                          max_examples=50)
            print(report.summary())
    """
    chosen = steps if steps is not None else (DRIVE_KINDS if advance_path is not None else ())

    def factory() -> ResponsesThroughSDK:
        return ResponsesThroughSDK(
            base_url, api_key=api_key, advance_path=advance_path, timeout=timeout
        )

    factory.__name__ = "ResponsesThroughSDK"
    return response_conformance(
        factory,
        settings=settings,
        seed=seed,
        max_examples=max_examples,
        accept=accept,
        steps=chosen,
        max_divergences=max_divergences,
    )
