"""The SDK's own Assistants guides against the example server, and its Assistants surface.

openai-python runs unchanged but for ``base_url`` (issue 19):

* the Assistants quickstart: assistant, thread, message, ``create_and_poll``,
  ``messages.list``, and the answer read from it;
* the function-calling guide: tools, ``requires_action``, ``submit_tool_outputs_and_poll``,
  the answer; with ``tool_choice`` and ``parallel_tool_calls`` honoured, and arguments
  valid for each function's schema (the ``--auto`` worker draws them);
* the streaming helpers: ``runs.stream`` with an ``AssistantEventHandler``, then
  ``messages.list`` showing the streamed text.

Then the endpoints one by one (messages, assistants, threads): CRUD, paging with the
``run_id`` filter, the thread lock on a new message and on a thread delete, 404 texts, and
the spec's limits. Each runs on SQLite and PostgreSQL.

Every client here validates responses strictly (``_strict_response_validation=True``),
with these exceptions, where the objects do not allow it:

* a run whose ``instructions`` is null (the SDK types it ``str``; spec-facts §8.8): the
  runs here are given instructions, directly or by their assistant, so none is an
  exception in practice;
* error bodies are read through ``httpx`` where the test compares them byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler
from server_helpers import HEADERS, Server, advance, database

try:  # brought by the server extra (hypothesis-jsonschema); without it every test skips
    import jsonschema
except ImportError:  # pragma: no cover - depends on the installation
    jsonschema = None

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Assistants is

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]

SCRIPTED_ANSWER = "This is a scripted answer from the example server."

#: The function-calling guide's two tools (its weather example).
WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_current_temperature",
            "description": "Get the current temperature for a specific location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state"},
                    "unit": {"type": "string", "enum": ["Celsius", "Fahrenheit"]},
                },
                "required": ["location", "unit"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_rain_probability",
            "description": "Get the probability of rain for a specific location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "hours": {"type": "integer", "minimum": 1, "maximum": 48},
                    "detail": {
                        "type": "object",
                        "properties": {"hourly": {"type": "boolean"}},
                        "required": ["hourly"],
                    },
                },
                "required": ["location", "hours", "detail"],
            },
        },
    },
]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in WEATHER_TOOLS}


@pytest.fixture(scope="module", params=BACKENDS)
def auto_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("guides"))
    with Server(db, "--auto", "--auto-delay", "0.05", "--poll-after-ms", "50") as s:
        yield s


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("surface"))
    with Server(db) as s:
        yield s


def sdk(server: Server) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base, api_key="test", max_retries=0, _strict_response_validation=True
    )


@pytest.fixture
def h(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, headers=HEADERS) as client:
        yield client


def wire(message: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    body = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return {"error": body}


def texts(messages: Any) -> list[tuple[str, str]]:
    return [(m.role, m.content[0].text.value) for m in messages]


# --------------------------------------------------------------------------------------
# The guides


def test_the_assistants_quickstart(auto_server: Server) -> None:
    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4o",
    )
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="I need to solve the equation `3x + 11 = 14`."
    )
    assert message.content[0].text.value == "I need to solve the equation `3x + 11 = 14`."
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
    )
    assert run.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    assert texts(messages) == [
        ("assistant", SCRIPTED_ANSWER),
        ("user", "I need to solve the equation `3x + 11 = 14`."),
    ]
    answer = messages.data[0]
    assert (answer.run_id, answer.assistant_id, answer.status) == (
        run.id,
        assistant.id,
        "completed",
    )
    assert (message.run_id, message.assistant_id) == (None, None)


def _answer_calls(client: openai.OpenAI, run: Any) -> tuple[Any, list[list[str]]]:
    """The guide's loop: answer each round of calls until the run ends; the rounds."""
    rounds = []
    while run.status == "requires_action":
        outputs, names = [], []
        for call in run.required_action.submit_tool_outputs.tool_calls:
            arguments = json.loads(call.function.arguments)
            jsonschema.validate(arguments, SCHEMAS[call.function.name])
            names.append(call.function.name)
            outputs.append({"tool_call_id": call.id, "output": "57"})
        rounds.append(names)
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs
        )
    return run, rounds


def test_the_function_calling_guide(auto_server: Server) -> None:
    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        instructions="You are a weather bot. Use the provided functions to answer questions.",
        model="gpt-4o",
        tools=WEATHER_TOOLS,
    )
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "What's the weather in San Francisco today and the likelihood "
                "it'll rain?",
            }
        ]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    first = [c.function.arguments for c in run.required_action.submit_tool_outputs.tool_calls]
    run, rounds = _answer_calls(client, run)
    # Every function the assistant offers, in one round (parallel_tool_calls defaults true).
    assert rounds == [["get_current_temperature", "get_rain_probability"]]
    assert run.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
    assert texts(messages) == [("assistant", SCRIPTED_ANSWER)]
    # The arguments are the run's own: drawn again for the same run, they are the same.
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    recorded = [c.function.arguments for c in steps.data[0].step_details.tool_calls]
    assert recorded == first


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"parallel_tool_calls": False}, [["get_current_temperature"], ["get_rain_probability"]]),
        ({"tool_choice": "required"}, [["get_current_temperature", "get_rain_probability"]]),
        ({"tool_choice": "none"}, []),
        (
            {"tool_choice": {"type": "function", "function": {"name": "get_rain_probability"}}},
            [["get_rain_probability"]],
        ),
        ({"tools": [WEATHER_TOOLS[1]]}, [["get_rain_probability"]]),
        ({"tools": []}, []),
    ],
)
def test_the_worker_calls_as_tool_choice_and_parallel_tool_calls_say(
    auto_server: Server, options: dict[str, Any], expected: list[list[str]]
) -> None:
    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        instructions="Weather.", model="gpt-4o", tools=WEATHER_TOOLS
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, **options
    )
    run, rounds = _answer_calls(client, run)
    assert (rounds, run.status) == (expected, "completed")


def test_the_streaming_helpers(auto_server: Server) -> None:
    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        instructions="You are a personal math tutor.", model="gpt-4o", name="Tutor"
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Solve 3x+11=14")

    class Handler(AssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.created = 0
            self.deltas: list[str] = []
            self.done: list[str] = []

        def on_text_created(self, text: Any) -> None:
            self.created += 1

        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            self.deltas.append(delta.value)

        def on_text_done(self, text: Any) -> None:
            self.done.append(text.value)

    handler = Handler()
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe.",
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert handler.created == 1
    assert "".join(handler.deltas) == SCRIPTED_ANSWER
    assert handler.done == [SCRIPTED_ANSWER]
    final = handler.get_final_run()
    assert final is not None and final.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    assert texts(messages) == [("user", "Solve 3x+11=14"), ("assistant", "".join(handler.deltas))]


# --------------------------------------------------------------------------------------
# Messages


def test_messages_keep_content_attachments_and_metadata(server: Server, h: httpx.Client) -> None:
    client = sdk(server)
    thread = client.beta.threads.create()
    attachments: Any = [{"file_id": "file_1", "tools": [{"type": "file_search"}]}]
    created = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content=[
            {"type": "text", "text": "Look at this:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ],
        attachments=attachments,
        metadata={"k": "v"},
    )
    assert created.id.startswith("msg_") and created.thread_id == thread.id
    assert created.content[0].type == "text" and created.content[0].text.value == "Look at this:"
    assert created.content[1].type == "image_url"
    assert created.content[1].image_url.url == "https://example.com/a.png"
    assert [a.model_dump(exclude_none=True) for a in created.attachments or []] == attachments
    assert created.metadata == {"k": "v"}
    got = client.beta.threads.messages.retrieve(created.id, thread_id=thread.id)
    assert got == created
    updated = client.beta.threads.messages.update(
        created.id, thread_id=thread.id, metadata={"k": "w"}
    )
    assert updated.metadata == {"k": "w"} and updated.content == created.content
    gone = client.beta.threads.messages.delete(created.id, thread_id=thread.id)
    assert (gone.id, gone.object, gone.deleted) == (created.id, "thread.message.deleted", True)
    answer = h.get(f"/threads/{thread.id}/messages/{created.id}")
    # The run's template (spec-facts §10.2) for a message: inferred.
    assert answer.status_code == 404
    assert answer.json() == wire(f"No message found with id '{created.id}'.")
    assert client.beta.threads.messages.list(thread_id=thread.id).data == []


def test_message_lookups_404_and_ids(server: Server, h: httpx.Client) -> None:
    thread = sdk(server).beta.threads.create()
    answer = h.get("/threads/thread_nope/messages")
    assert (answer.status_code, answer.json()) == (
        404,
        wire("No thread found with id 'thread_nope'."),
    )
    answer = h.post("/threads/thread_nope/messages", json={"role": "user", "content": "x"})
    assert answer.status_code == 404
    answer = h.get(f"/threads/{thread.id}/messages/nope")
    assert answer.status_code == 400
    assert answer.json() == wire(
        "Invalid 'message_id': 'nope'. Expected an ID that begins with 'msg'.",
        param="message_id",
        code="invalid_value",
    )
    for method in ("GET", "DELETE"):
        answer = h.request(method, f"/threads/{thread.id}/messages/msg_nope")
        assert (answer.status_code, answer.json()) == (
            404,
            wire("No message found with id 'msg_nope'."),
        )
    answer = h.post(f"/threads/{thread.id}/messages/msg_nope", json={"metadata": {}})
    assert answer.status_code == 404
    answer = h.post(f"/threads/{thread.id}/messages", json={"role": "user"})
    assert answer.json() == wire(
        "Missing required parameter: 'content'.",
        param="content",
        code="missing_required_parameter",
    )


def test_run_messages_are_listed_with_their_run_and_paged(server: Server, h: httpx.Client) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"question {i}"} for i in range(3)]
    )
    run = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id="asst_1", instructions="Answer."
    )
    advance(h, thread.id, run.id, "in_progress")
    for i in range(2):
        h.post(f"/threads/{thread.id}/runs/{run.id}/advance", json={"step": "open_message_step"})
        h.post(
            f"/threads/{thread.id}/runs/{run.id}/advance",
            json={"step": "finish_message_step", "text": f"answer {i}"},
        )
    advance(h, thread.id, run.id, "completed", usage={"prompt_tokens": 1, "completion_tokens": 1,
                                                      "total_tokens": 2})  # fmt: skip
    everything = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    assert texts(everything) == [
        ("user", "question 0"),
        ("user", "question 1"),
        ("user", "question 2"),
        ("assistant", "answer 0"),
        ("assistant", "answer 1"),
    ]
    by_run = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
    assert texts(by_run) == [("assistant", "answer 1"), ("assistant", "answer 0")]
    assert {(m.run_id, m.assistant_id) for m in by_run.data} == {(run.id, "asst_1")}
    assert {m.run_id for m in everything.data[:3]} == {None}
    # Paging, as the run lists page: limit, after, before, has_more.
    page = h.get(f"/threads/{thread.id}/messages", params={"limit": 2}).json()
    ids = [m.id for m in reversed(everything.data)]
    assert [m["id"] for m in page["data"]] == ids[:2] and page["has_more"] is True
    assert (page["first_id"], page["last_id"]) == (ids[0], ids[1])
    after = h.get(f"/threads/{thread.id}/messages", params={"limit": 2, "after": ids[1]}).json()
    assert [m["id"] for m in after["data"]] == ids[2:4] and after["has_more"] is True
    back = h.get(f"/threads/{thread.id}/messages", params={"before": ids[2]}).json()
    assert [m["id"] for m in back["data"]] == ids[:2] and back["has_more"] is False
    # The SDK's auto-paging walks them all.
    walked = client.beta.threads.messages.list(thread_id=thread.id, limit=2)
    assert [m.id for m in walked] == ids
    answer = h.get(f"/threads/{thread.id}/messages", params={"run_id": "thread_x"})
    assert answer.json()["error"]["param"] == "run_id"
    answer = h.get(f"/threads/{thread.id}/messages", params={"limit": 101})
    assert answer.json()["error"]["code"] == "integer_above_max_value"
    # A run's message is changed with its run (and stays in its run's history).
    first = by_run.data[1]
    edited = client.beta.threads.messages.update(first.id, thread_id=thread.id, metadata={"k": "v"})
    assert edited.metadata == {"k": "v"} and edited.content == first.content


def test_the_thread_lock_on_new_messages_and_on_thread_delete(
    server: Server, h: httpx.Client
) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id="asst_1", instructions="Answer."
    )
    for status in ("queued", "in_progress", "requires_action", "cancelling"):
        if status == "in_progress":
            advance(h, thread.id, run.id, "in_progress")
        elif status == "requires_action":
            calls = [{"id": "call_1", "type": "function",
                      "function": {"name": "f", "arguments": "{}"}}]  # fmt: skip
            advance(h, thread.id, run.id, "requires_action", tool_calls=calls)
        elif status == "cancelling":
            client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        answer = h.post(f"/threads/{thread.id}/messages", json={"role": "user", "content": "x"})
        # spec-facts §4.4, observed: 400, param and code null.
        assert (answer.status_code, answer.json()) == (
            400,
            wire(f"Can't add messages to {thread.id} while a run {run.id} is active."),
        ), status
        answer = h.delete(f"/threads/{thread.id}")
        assert (answer.status_code, answer.json()) == (
            400,
            wire(f"Can't delete {thread.id} while a run {run.id} is active."),
        ), status
    advance(h, thread.id, run.id, "cancelled")
    added = client.beta.threads.messages.create(thread_id=thread.id, role="user", content="again")
    assert added.content[0].text.value == "again"
    gone = client.beta.threads.delete(thread.id)
    assert (gone.id, gone.object, gone.deleted) == (thread.id, "thread.deleted", True)
    for path in (f"/threads/{thread.id}", f"/threads/{thread.id}/messages",
                 f"/threads/{thread.id}/runs/{run.id}"):  # fmt: skip
        answer = h.get(path)
        assert answer.status_code == 404, path
    answer = h.delete(f"/threads/{thread.id}")
    assert (answer.status_code, answer.json()) == (
        404,
        wire(f"No thread found with id '{thread.id}'."),
    )


def test_a_runs_message_deleted_while_written_stays_hidden(server: Server, h: httpx.Client) -> None:
    client = sdk(server)
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id="asst_1", instructions="Answer."
    )
    advance(h, thread.id, run.id, "in_progress")
    h.post(f"/threads/{thread.id}/runs/{run.id}/advance", json={"step": "open_message_step"})
    (message,) = client.beta.threads.messages.list(thread_id=thread.id).data
    assert message.status == "in_progress"
    assert client.beta.threads.messages.delete(message.id, thread_id=thread.id).deleted
    # The run goes on writing it (its step names it); the thread no longer shows it.
    answer = h.post(
        f"/threads/{thread.id}/runs/{run.id}/advance",
        json={"step": "finish_message_step", "text": "late"},
    )
    assert answer.status_code == 200
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    assert advance(h, thread.id, run.id, "completed", usage=usage).status_code == 200
    assert client.beta.threads.messages.list(thread_id=thread.id).data == []
    assert client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data == []
    answer = h.get(f"/threads/{thread.id}/messages/{message.id}")
    assert answer.status_code == 404
    answer = h.delete(f"/threads/{thread.id}/messages/{message.id}")
    assert answer.status_code == 404
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert steps.data[0].step_details.message_creation.message_id == message.id


def test_additional_messages_and_thread_and_run_messages_are_kept(server: Server) -> None:
    client = sdk(server)
    run = client.beta.threads.create_and_run(
        assistant_id="asst_1",
        instructions="Answer.",
        thread={"messages": [{"role": "user", "content": "first", "metadata": {"a": "b"}}]},
    )
    (first,) = client.beta.threads.messages.list(thread_id=run.thread_id).data
    assert (first.content[0].text.value, first.metadata, first.run_id) == (
        "first",
        {"a": "b"},
        None,
    )
    thread = client.beta.threads.create()
    client.beta.threads.runs.create(
        thread_id=thread.id,
        assistant_id="asst_1",
        instructions="Answer.",
        additional_messages=[{"role": "user", "content": "added"}],
    )
    assert texts(client.beta.threads.messages.list(thread_id=thread.id)) == [("user", "added")]


# --------------------------------------------------------------------------------------
# Assistants and threads


def test_assistants_create_list_retrieve_modify_delete(server: Server, h: httpx.Client) -> None:
    client = sdk(server)
    made = [
        client.beta.assistants.create(model="gpt-4o", name=f"a{i}", metadata={"i": str(i)})
        for i in range(3)
    ]
    page = client.beta.assistants.list(limit=100, order="asc")
    ids = [a.id for a in page.data]
    assert ids[-3:] == [a.id for a in made]
    two = client.beta.assistants.list(limit=2, after=made[0].id, order="asc")
    assert [a.id for a in two.data] == [made[1].id, made[2].id]
    assert client.beta.assistants.retrieve(made[1].id) == made[1]
    updated = client.beta.assistants.update(
        made[1].id,
        name="Tutor",
        instructions="Be kind.",
        tools=[{"type": "code_interpreter"}],
        metadata={"k": "v"},
    )
    assert (updated.name, updated.instructions, updated.metadata) == (
        "Tutor",
        "Be kind.",
        {"k": "v"},
    )
    assert [t.type for t in updated.tools] == ["code_interpreter"]
    assert (updated.model, updated.created_at) == (made[1].model, made[1].created_at)
    assert client.beta.assistants.retrieve(made[1].id) == updated
    # A run of the modified assistant takes its new instructions.
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=made[1].id)
    assert run.instructions == "Be kind."
    gone = client.beta.assistants.delete(made[1].id)
    assert (gone.id, gone.object, gone.deleted) == (made[1].id, "assistant.deleted", True)
    for method in ("GET", "DELETE"):
        answer = h.request(method, f"/assistants/{made[1].id}")
        assert (answer.status_code, answer.json()) == (
            404,
            wire(f"No assistant found with id '{made[1].id}'."),
        )
    answer = h.post(f"/assistants/{made[1].id}", json={"name": "x"})
    assert answer.status_code == 404
    assert made[1].id not in [a.id for a in client.beta.assistants.list(limit=100)]
    answer = h.post(f"/assistants/{made[0].id}", json={"file_ids": []})
    assert answer.json() == wire(
        "Unknown parameter: 'file_ids'.", param="file_ids", code="unknown_parameter"
    )


def test_threads_create_with_messages_retrieve_modify_delete(
    server: Server, h: httpx.Client
) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
        ],
        metadata={"a": "b"},
    )
    listed = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    assert texts(listed) == [("user", "one"), ("assistant", "two")]
    assert client.beta.threads.retrieve(thread.id) == thread
    updated = client.beta.threads.update(thread.id, metadata={"c": "d"})
    assert (updated.id, updated.metadata, updated.created_at) == (
        thread.id,
        {"c": "d"},
        thread.created_at,
    )
    assert client.beta.threads.retrieve(thread.id) == updated
    answer = h.post(f"/threads/{thread.id}", json={"messages": []})
    assert answer.json() == wire(
        "Unknown parameter: 'messages'.", param="messages", code="unknown_parameter"
    )
    answer = h.post("/threads/thread_nope", json={"metadata": {}})
    assert (answer.status_code, answer.json()) == (
        404,
        wire("No thread found with id 'thread_nope'."),
    )
    assert client.beta.threads.delete(thread.id).deleted
    assert h.get(f"/threads/{thread.id}").status_code == 404


# --------------------------------------------------------------------------------------
# The spec's limits, over HTTP (runstate's request layer answers; spec-facts §10.1)


def _too_long(param: str, kind: str, limit: int, got: int) -> dict[str, Any]:
    article = "an" if kind == "array" else "a"
    return wire(
        f"Invalid '{param}': {kind} too long. Expected {article} {kind} with maximum length "
        f"{limit}, but got {article} {kind} with length {got} instead.",
        param=param,
        code=f"{kind}_above_max_length",
    )


def test_the_spec_limits_over_http(server: Server, h: httpx.Client) -> None:
    thread = sdk(server).beta.threads.create()
    long_text = "x" * 256_001
    attachment = {"file_id": "f", "tools": [{"type": "file_search"}]}
    cases = [
        ("/assistants", {"model": "m", "instructions": long_text},
         _too_long("instructions", "string", 256_000, 256_001)),
        ("/assistants", {"model": "m", "tools": [{"type": "code_interpreter"}] * 129},
         _too_long("tools", "array", 128, 129)),
        (f"/threads/{thread.id}/runs", {"assistant_id": "asst_1", "instructions": long_text},
         _too_long("instructions", "string", 256_000, 256_001)),
        (f"/threads/{thread.id}/messages", {"role": "user", "content": long_text},
         _too_long("content", "string", 256_000, 256_001)),
        (f"/threads/{thread.id}/messages",
         {"role": "user", "content": "c", "attachments": [attachment] * 11},
         _too_long("attachments", "array", 10, 11)),
        ("/threads", {"messages": [{"role": "user", "content": long_text}]},
         _too_long("messages[0].content", "string", 256_000, 256_001)),
    ]  # fmt: skip
    for path, body, expected in cases:
        answer = h.post(path, json=body)
        assert (answer.status_code, answer.json()) == (400, expected), path
    # Nothing was stored by a refused request.
    assert h.get(f"/threads/{thread.id}/messages").json()["data"] == []
    assert h.get(f"/threads/{thread.id}/runs").json()["data"] == []


def test_a_thread_deleted_under_concurrent_writes_answers_200_400_or_404(
    server: Server,
) -> None:
    """New messages and runs racing a delete of their thread: each is refused by the lock
    (400), finds the thread gone (404) or lands before the delete; never a 500."""
    import threading  # noqa: PLC0415

    statuses: list[int] = []
    lock = threading.Lock()

    def fire(method: str, path: str, body: Any, barrier: threading.Barrier) -> None:
        with httpx.Client(base_url=server.base, headers=HEADERS, timeout=30) as c:
            barrier.wait()
            for _ in range(3):
                status = c.request(method, path, json=body).status_code
                with lock:
                    statuses.append(status)

    client = sdk(server)
    for _ in range(6):
        thread = client.beta.threads.create()
        jobs = [
            ("POST", f"/threads/{thread.id}/messages", {"role": "user", "content": "x"}),
            ("POST", f"/threads/{thread.id}/messages", {"role": "user", "content": "y"}),
            ("POST", f"/threads/{thread.id}/runs", {"assistant_id": "asst_1"}),
            ("DELETE", f"/threads/{thread.id}", None),
        ]
        barrier = threading.Barrier(len(jobs))
        workers = [threading.Thread(target=fire, args=(*job, barrier)) for job in jobs]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    assert statuses and set(statuses) <= {200, 400, 404}, sorted(set(statuses))
    assert 404 in statuses
