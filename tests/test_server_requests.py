"""The example server reads every body through runstate before it stores anything.

Issue 17's reproductions against the running server (SQLite, and PostgreSQL as
``server_slow``): hostile bodies get the API's 400 with its exact body, nothing is
stored, and the client's keep-alive connection stays usable.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import HEADERS, Server, client, database

import runstate as rs
from runstate._engine.templates import BAD_JSON_MESSAGE

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]
TABLES = ("assistants", "threads", "runs", "run_history")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("requests"))
    with Server(db) as s:
        yield s


def rows(db: str) -> dict[str, int]:
    """How many rows each table holds."""
    if db.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(db[len("sqlite:///") :])
    else:
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def bad_json() -> dict[str, Any]:
    return {
        "error": {
            "message": BAD_JSON_MESSAGE,
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def nested_text(levels: int) -> str:
    text = "{}"
    for i in range(levels - 1):
        text = '{"a":' + text + "}" if (levels - i) % 2 == 0 else "[" + text + "]"
    return text


def tool_with(parameters: str) -> str:
    return (
        '{"assistant_id": "asst_1", "tools": [{"type": "function", "function": '
        '{"name": "f", "parameters": ' + parameters + "}}]}"
    )


#: (path, body) pairs the server must refuse with the malformed-JSON 400; ``{thread}``
#: is a thread id.
MALFORMED = [
    ("/threads/{thread}/runs", b'{"assistant_id": "x\\ud800"}'),
    ("/threads/{thread}/runs", b'{"assistant_id": "asst_1", "instructions": "\\udfff"}'),
    ("/threads/{thread}/runs", b'{"assistant_id": "asst_1", "metadata": {"k": "\\ud800"}}'),
    ("/threads/{thread}/runs", b'{"assistant_id": "asst_1", "metadata": {"\\ud800": "v"}}'),
    ("/threads/{thread}/runs", tool_with(nested_text(201)).encode()),
    ("/threads/{thread}/runs", tool_with(nested_text(990)).encode()),
    ("/threads/runs", b'{"assistant_id": "asst_1", "thread": {"metadata": {"k": "\\ud800"}}}'),
    ("/threads/runs", ('{"assistant_id": "asst_1", "thread": {"messages": [{"role": "user", '
                       '"content": "x", "attachments": [' + nested_text(600) + "]}]}}").encode()),
    ("/assistants", b'{"model": "gpt-4o", "temperature": NaN}'),
    ("/assistants", b'{"model": "gpt-4o", "top_p": Infinity}'),
    ("/assistants", b'{"model": "gpt-4o", "instructions": "\\ud800"}'),
    ("/threads", ('{"tool_resources": ' + nested_text(5000) + "}").encode()),
    ("/threads", b'{"metadata": {"k": "\\ud800"}}'),
    ("/threads/{thread}/runs/run_x/advance", b'{"to": "\\ud800"}'),
]  # fmt: skip


def test_malformed_bodies_are_400s_and_store_nothing(server: Server) -> None:
    with client(server.base) as h:
        thread = h.post("/threads", json={"messages": [{"role": "user", "content": "Hi"}]})
        thread_id = thread.json()["id"]
        before = rows(server.db)
        for path, body in MALFORMED:
            r = h.post(path.format(thread=thread_id), content=body)
            assert (r.status_code, r.json()) == (400, bad_json()), (path, body[:80], r.text)
        # The same keep-alive connection still answers.
        assert h.get(f"/threads/{thread_id}").status_code == 200
        assert rows(server.db) == before


#: (path, body, param, code): bodies the server used to store, or answer with a 500.
INVALID = [
    ("/assistants", {"model": "gpt-4o", "top_p": 5}, "top_p", "decimal_above_max_value"),
    ("/assistants", {"model": "gpt-4o", "name": 7}, "name", "invalid_type"),
    ("/assistants", {"model": "gpt-4o", "response_format": "json"}, "response_format",
     "invalid_value"),
    ("/assistants", {"model": "gpt-4o", "tool_resources": 5}, "tool_resources", "invalid_type"),
    ("/assistants", {"model": "gpt-4o", "reasoning_effort": "extreme"}, "reasoning_effort",
     "invalid_value"),
    ("/threads", {"tool_resources": 5}, "tool_resources", "invalid_type"),
    ("/threads", {"messages": [{"role": "user", "content": "x", "metadata": {"a": 1}}]},
     "messages[0].metadata.a", "invalid_type"),
    ("/threads/runs", {"assistant_id": "asst_1", "thread": {"metadata": {"a": 1}}},
     "thread.metadata.a", "invalid_type"),
    ("/threads/runs", {"assistant_id": "asst_1", "thread": {"tool_resources": 5}},
     "thread.tool_resources", "invalid_type"),
    ("/threads/runs", {"assistant_id": "asst_1", "thread": {"messages": 5}},
     "thread.messages", "invalid_type"),
    ("/threads/runs", {"assistant_id": "asst_1", "thread": {"x" * 100_000: 1}},
     "thread." + "x" * 190, "unknown_parameter"),
]  # fmt: skip


def test_invalid_bodies_name_the_field_and_store_nothing(server: Server) -> None:
    with client(server.base) as h:
        before = rows(server.db)
        for path, body, param, code in INVALID:
            r = h.post(path, json=body)
            assert r.status_code == 400, (path, r.text[:300])
            error = r.json()["error"]
            assert (error["code"], error["param"][: len(param)]) == (code, param), r.text[:300]
            assert len(r.content) < 1000
            if "integer" in error["message"]:
                assert "an integer" in error["message"] and "a number" not in error["message"]
        assert rows(server.db) == before


def test_messages_use_the_integer_type_word(server: Server) -> None:
    with client(server.base) as h:
        r = h.post("/threads", json={"messages": 5})
        assert r.json()["error"]["message"] == (
            "Invalid type for 'messages': expected an array, but got an integer instead."
        )


def test_an_assistant_keeps_every_field(server: Server) -> None:
    body = {
        "model": "gpt-4o", "name": "n", "description": "d", "instructions": "Be brief.",
        "reasoning_effort": "low", "tools": [{"type": "code_interpreter"}],
        "tool_resources": {"code_interpreter": {"file_ids": ["file_1"]}},
        "metadata": {"k": "v"}, "temperature": 0.5, "top_p": 0.25,
        "response_format": {"type": "json_object"},
    }  # fmt: skip
    with client(server.base) as h:
        created = h.post("/assistants", json=body).json()
        got = h.get(f"/assistants/{created['id']}").json()
        assert got == created
        assert {k: got[k] for k in body} == body
        defaults = h.post("/assistants", json={"model": "gpt-4o"}).json()
        assert (defaults["temperature"], defaults["top_p"], defaults["response_format"]) == (
            1.0, 1.0, "auto",
        )  # fmt: skip
        thread = h.post("/threads", json={"tool_resources": body["tool_resources"]}).json()
        assert thread["tool_resources"] == body["tool_resources"]


def test_refusals_are_short_and_utf8(server: Server) -> None:
    with client(server.base) as h:
        for path, body in [
            ("/threads/thread_" + "x" * 50_000, None),
            ("/threads/runs", {"assistant_id": "x" * 100_000}),
            ("/threads/runs", {"assistant_id": "asst_1", "tool_choice": "y" * 100_000}),
        ]:
            r = h.get(path) if body is None else h.post(path, json=body)
            assert r.status_code in (400, 404) and len(r.content) < 1000, r.text[:200]
            json.loads(r.content.decode("utf-8"))


def test_the_toolkit_answers_what_the_server_answers() -> None:
    # The server's refusals are the toolkit's, written by error_json.
    with pytest.raises(rs.InvalidRequest) as exc:
        rs.parse_create_assistant({"model": "m", "top_p": 5})
    assert json.loads(rs.toolkit.error_json(exc.value)) == exc.value.to_api_error()


#: httpx's (so the openai SDK's) default keep-alive expiry, in seconds: a client reuses a
#: connection idle for up to this long.
CLIENT_KEEP_ALIVE = 5.0


def test_an_idle_connection_outlives_the_clients_keep_alive(tmp_path: Path) -> None:
    """The server keeps an idle connection open longer than clients keep it in their pools.

    With uvicorn's default (5 s, as httpx's), the server could close a connection at the
    moment a client sent its next request on it: the client got "Connection reset by
    peer" for a request the server never read (seen as a flaky failure on a busy machine).
    Here the connection is reused after idling longer than any client would keep it.
    """
    import http.client  # noqa: PLC0415
    import time  # noqa: PLC0415
    from urllib.parse import urlsplit  # noqa: PLC0415

    with Server(database("sqlite", tmp_path)) as s:
        where = urlsplit(s.base)
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
        try:
            conn.request("POST", f"{where.path}/threads", body="{}", headers=HEADERS)
            answer = conn.getresponse()
            assert answer.status == 200, answer.read()
            answer.read()
            time.sleep(CLIENT_KEEP_ALIVE + 1)  # idle at least this long (longer on a busy machine)
            conn.request("POST", f"{where.path}/threads", body="{}", headers=HEADERS)
            assert conn.getresponse().status == 200  # the same connection answered
        finally:
            conn.close()
