"""The list endpoint: its query and its pages, walked forward and back."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import runstate as rs


def make_runs(n: int) -> list[rs.Run]:
    return [
        rs.new_run(id=f"run_{i:03d}", thread_id="thread_1", assistant_id="asst_1", model="m",
                   now=1_700_000_000 + i // 2)
        for i in range(n)
    ]  # fmt: skip


def ids(page: dict[str, Any]) -> list[str]:
    return [r["id"] for r in page["data"]]


def check_shape(page: dict[str, Any]) -> None:
    assert list(page) == ["object", "data", "first_id", "last_id", "has_more"]
    assert page["object"] == "list"
    if page["data"]:
        assert (page["first_id"], page["last_id"]) == (
            page["data"][0]["id"],
            page["data"][-1]["id"],
        )
    else:
        assert (page["first_id"], page["last_id"], page["has_more"]) == (None, None, False)


@given(st.integers(0, 30), st.integers(1, 100), st.sampled_from(["asc", "desc"]))
def test_walking_after_yields_every_run_once_in_order(n: int, limit: int, order: str) -> None:
    runs = make_runs(n)
    expected = [r.id for r in (runs if order == "asc" else runs[::-1])]
    seen: list[str] = []
    query: dict[str, Any] = {"limit": str(limit), "order": order}
    pages = []
    while True:
        page = rs.list_page(runs, query)
        check_shape(page)
        assert len(page["data"]) <= limit
        pages.append(page)
        seen.extend(ids(page))
        if not page["has_more"]:
            break
        query = {"limit": limit, "order": order, "after": page["last_id"]}
    assert seen == expected
    # and back, from the last page, with before=first_id
    back: list[str] = ids(pages[-1])
    page = pages[-1]
    while page["first_id"] is not None:
        page = rs.list_page(runs, {"limit": limit, "order": order, "before": page["first_id"]})
        check_shape(page)
        back = ids(page) + back
        if not page["has_more"]:
            break
    assert back == expected


@given(st.integers(1, 20), st.integers(1, 20), st.data())
def test_before_and_after_together(n: int, limit: int, data: st.DataObject) -> None:
    runs = make_runs(n)
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(i, n - 1))
    page = rs.list_page(runs, rs.toolkit.ListRuns(limit=limit, order="asc", after=runs[i].id,
                                          before=runs[j].id))  # fmt: skip
    between = [r.id for r in runs[i + 1 : j]]
    assert ids(page) == between[:limit]
    assert page["has_more"] is (len(between) > limit)


def test_page_data_is_dump_run() -> None:
    runs = make_runs(3)
    page = rs.list_page(runs)
    assert page["data"] == [rs.dump_run(r) for r in runs[::-1]]
    assert page["data"][0] is not rs.list_page(runs)["data"][0]


def test_unknown_cursor_gives_an_empty_page() -> None:
    runs = make_runs(3)
    for key in ("after", "before"):
        page = rs.list_page(runs, {key: "run_missing"})
        assert page == {"object": "list", "data": [], "first_id": None, "last_id": None,
                        "has_more": False}  # fmt: skip
    assert rs.list_page([], None)["data"] == []


def test_query_defaults_and_forms() -> None:
    assert rs.parse_list_runs() == rs.toolkit.ListRuns(limit=20, order="desc")
    assert rs.parse_list_runs({}) == rs.toolkit.ListRuns()
    assert rs.parse_list_runs(
        {"limit": ["5", "7"], "order": ["asc"], "x": "y"}
    ) == rs.toolkit.ListRuns(limit=7, order="asc")
    assert rs.parse_list_runs({"limit": "", "after": None, "before": []}) == rs.toolkit.ListRuns()
    assert rs.parse_list_runs({"limit": 100, "after": "run_1"}) == rs.toolkit.ListRuns(
        limit=100, after="run_1"
    )


@pytest.mark.parametrize(
    ("query", "message", "param", "code"),
    [
        ({"limit": "0"}, "Invalid 'limit': integer below minimum value. Expected a value >= 1, "
         "but got 0 instead.", "limit", "integer_below_min_value"),
        ({"limit": "-3"}, "Invalid 'limit': integer below minimum value. Expected a value >= 1, "
         "but got -3 instead.", "limit", "integer_below_min_value"),
        ({"limit": "ten"}, "Invalid type for 'limit': expected an integer, but got a string "
         "instead.", "limit", "invalid_type"),
        ({"limit": True}, "Invalid type for 'limit': expected an integer, but got a boolean "
         "instead.", "limit", "invalid_type"),
        ({"order": "up"}, "Invalid value: 'up'. Supported values are: 'asc' and 'desc'.",
         "order", "invalid_value"),
        ({"order": 1}, "Invalid type for 'order': expected a string, but got an integer "
         "instead.", "order", "invalid_type"),
        ({"after": 5}, "Invalid type for 'after': expected a string, but got an integer "
         "instead.", "after", "invalid_type"),
    ],
)  # fmt: skip
def test_query_refusals(query: dict[str, Any], message: str, param: str, code: str) -> None:
    with pytest.raises(rs.InvalidRequest) as info:
        rs.parse_list_runs(query)
    assert (info.value.message, info.value.param, info.value.code) == (message, param, code)


def test_query_must_be_a_mapping() -> None:
    with pytest.raises(rs.InvalidArgument):
        rs.parse_list_runs("limit=2")  # type: ignore[arg-type]


def test_a_runs_steps_page_like_runs() -> None:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    steps = [
        rs.steps.open_message_step(run, id=f"step_{i}", message_id=f"msg_{i}", now=3 + i)
        for i in range(5)
    ]
    page = rs.list_page(steps, {"limit": "2", "order": "asc", "after": "step_1"})
    assert [s["id"] for s in page["data"]] == ["step_2", "step_3"]
    assert page["data"][0] == rs.dump_step(steps[2])
    assert (page["first_id"], page["last_id"], page["has_more"]) == ("step_2", "step_3", True)
    with pytest.raises(rs.InvalidArgument, match="JSON objects with an 'id'"):
        rs.list_page([run, {"id": 5}])
    for wrong in (5, "run_1", {"run_1": run}):
        with pytest.raises(rs.InvalidArgument, match="an iterable of runs or run steps"):
            rs.list_page(wrong)  # type: ignore[arg-type]


def test_limits_no_int_can_hold_are_refused_as_the_api_does() -> None:
    runs = [rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)]
    for query in ({"limit": 10**5000}, {"limit": "9" * 5000}):
        with pytest.raises(rs.InvalidRequest, match="integer of 60 digits or more") as info:
            rs.list_page(runs, query)
        assert len(info.value.message) < 200
    for query in ({"limit": -(10**5000)}, {"limit": "-" + "9" * 5000}):
        with pytest.raises(rs.InvalidRequest, match="a negative integer of 60 digits") as info:
            rs.list_page(runs, query)
        assert info.value.code == "integer_below_min_value"
    with pytest.raises(rs.InvalidRequest, match="expected an integer"):
        rs.list_page(runs, {"limit": "\u00b2"})  # isdigit() says yes, int() says no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00000000000000000000001", 1),  # 23 digits, most of them leading zeros
        ("0" * 5000 + "42", 42),
        ("+0000000000000000000100", 100),
        (" 7 ", 7),
    ],
)
def test_limit_text_is_read_exactly_whatever_its_length(text: str, expected: int) -> None:
    assert rs.parse_list_runs({"limit": text}).limit == expected


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("-9999999999999999999", "below_min"),  # 19 digits: was reported above the maximum
        ("-" + "9" * 5000, "below_min"),
        ("-" + "0" * 30, "below_min"),
        ("0" * 30, "below_min"),
        ("9999999999999999999", "above_max"),
        ("0" * 30 + "101", "above_max"),
        ("9" * 5000, "above_max"),
    ],
    ids=lambda v: v if len(v) < 25 else f"{v[:3]}...({len(v)} chars)",
)
def test_limit_text_is_compared_by_value(text: str, side: str) -> None:
    with pytest.raises(rs.InvalidRequest) as info:
        rs.parse_list_runs({"limit": text})
    assert info.value.code == f"integer_{side}_value"
    assert len(info.value.message) < 200  # the echo is bounded


@given(st.integers(-(10**80), 10**80), st.integers(0, 30), st.booleans())
def test_limit_text_agrees_with_its_integer(value: int, zeros: int, plus: bool) -> None:
    """Any decimal text, any length, leading zeros and sign: judged by its value."""
    sign = "-" if value < 0 else "+" if plus else ""
    text = sign + "0" * zeros + str(abs(value))
    if 1 <= value <= 100:
        assert rs.parse_list_runs({"limit": text}).limit == value
        return
    with pytest.raises(rs.InvalidRequest) as from_text:
        rs.parse_list_runs({"limit": text})
    with pytest.raises(rs.InvalidRequest) as from_int:
        rs.parse_list_runs({"limit": value})
    side = "below_min" if value < 1 else "above_max"
    assert from_text.value.code == from_int.value.code == f"integer_{side}_value"
    if abs(value) < 10**60:  # beyond, both say "an integer of 60 digits or more"
        assert from_text.value.message == from_int.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", "3"),
        ("limit", 0),
        ("limit", 101),
        ("limit", True),
        ("limit", 2.0),
        ("order", "up"),
        ("order", None),
        ("after", 5),
        ("before", b"run_1"),
    ],
)
def test_a_hand_built_query_is_checked_on_construction(field: str, value: Any) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        rs.toolkit.ListRuns(**{field: value})
    assert info.value.argument == field
    with pytest.raises(rs.InvalidArgument):  # and on evolve
        attrs.evolve(rs.toolkit.ListRuns(), **{field: value})


def test_messages_and_json_objects_page_like_runs() -> None:
    messages = [
        rs.parse_create_message({"role": "user", "content": f"m{i}"}).new_message(
            id=f"msg_{i}", thread_id="thread_1", now=i
        )
        for i in range(4)
    ]
    page = rs.list_page(messages, {"limit": "2", "after": "msg_3"})
    assert [m["id"] for m in page["data"]] == ["msg_2", "msg_1"]
    assert page["data"][0] == rs.steps.dump_message(messages[2])
    assert (page["first_id"], page["last_id"], page["has_more"]) == ("msg_2", "msg_1", True)
    assistants = [{"id": f"asst_{i}", "object": "assistant"} for i in range(3)]
    page = rs.list_page(assistants, {"order": "asc", "before": "asst_2", "limit": "1"})
    assert page["data"] == [{"id": "asst_1", "object": "assistant"}]
    assert page["data"][0] is not assistants[1]  # a copy
    assert (page["first_id"], page["has_more"]) == ("asst_1", True)
    with pytest.raises(rs.InvalidArgument, match="JSON objects with an 'id'"):
        rs.list_page([{"object": "assistant"}])


class _Unreadable(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("hostile items")

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("hostile get")


@pytest.mark.parametrize("parse", [rs.parse_list_runs, rs.parse_list_messages])
def test_a_mapping_that_fails_when_read_is_an_invalid_argument(parse: Any) -> None:
    # Found by the wrong-type fuzz test on parse_list_messages; parse_list_runs had it too.
    with pytest.raises(rs.InvalidArgument, match=r"query: the mapping could not be read \(Run"):
        parse(_Unreadable(limit="1"))
