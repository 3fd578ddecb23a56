"""Hostile input at the inbox and the C2S outbox: never a 500, never a half-written row.

Each case is sent through the real door (a signed POST for the inbox, a bearer token for the
outbox) of one instance, on SQLite and on PostgreSQL (which refuses NUL characters in text
and values longer than their columns). After the inbox worker has run, each case is:

- refused at the door with a 4xx, and nothing of it is stored; or
- stored, and its inbox item ends ``done`` or ``ignored`` with a reason, on its first try:
  never ``failed``, never waiting for a retry, never a traceback in the log.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from attack_helpers import (
    PUBLIC,
    ErrorLog,
    RecordingServer,
    World,
    counts,
    drain,
    item_by_id,
    post_inbox,
    post_outbox,
    world,
)

from fedi.http.ap.inbox import MAX_ID_LENGTH

# URLs that urlsplit refuses or that only look like URLs.
ALICE = "http://localhost:8001/users/alice"
BAD_URLS = [
    "http://[::1",
    "http://[::1]:99999/x",
    "https://[zz]/note",
    "http://\uff03.example/",  # a netloc that changes under NFKC normalisation
    "javascript:alert(1)",
    "http://trusted.example@localhost:9001/notes/1",
    "//localhost:9001/notes/1",
    "",
    "http://localhost:9001/" + "a" * (MAX_ID_LENGTH + 10),
]


def _nest(depth: int, *, lists: bool = False) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if lists else {"x": value}
    return value


@pytest.fixture
async def hostile(db_target: Any, tmp_path: Path) -> AsyncIterator[World]:
    """The attack world on the parametrised database."""
    async with world(
        tmp_path, database_url=db_target.url, database_schema=db_target.schema
    ) as made:
        yield made


@pytest.fixture
async def on_sqlite(tmp_path: Path) -> AsyncIterator[World]:
    """The attack world on SQLite (for checks made before anything touches the database)."""
    async with world(tmp_path) as made:
        yield made


Case = Callable[[World], dict[str, Any]]


def _create(w: World, **note: Any) -> dict[str, Any]:
    return w.fiona.activity("Create", w.note(**note), to=[PUBLIC])


def _inbox_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {
        "deep dicts 300": lambda w: _create(w, extra=_nest(300)),
        "deep lists 300": lambda w: _create(w, extra=_nest(300, lists=True)),
        "deep lists 65": lambda w: _create(w, extra=_nest(65, lists=True)),
        "NUL in activity id": lambda w: {
            **_create(w), "id": w.server.url(f"/a/{uuid.uuid4()}\u0000")
        },
        "NUL in object id": lambda w: _create(w, id=w.server.url(f"/n/{uuid.uuid4()}\u0000")),
        "NUL in content": lambda w: _create(w, content="a\u0000b"),
        "NUL in a key": lambda w: _create(w, **{"odd\u0000key": 1}),
        "object type is a dict": lambda w: _create(w, type={"x": "Note"}),
        "object type is a list of dicts": lambda w: _create(w, type=[{"x": 1}]),
        "activity type is a dict": lambda w: {**_create(w), "type": {"Create": 1}},
        "actor is not a URL": lambda w: {**_create(w), "actor": "fiona"},
        "actor is two actors": lambda w: {**_create(w), "actor": [w.fiona.id, "x"]},
        "object is a number": lambda w: {**_create(w), "object": 7},
        "object is a list of junk": lambda w: {**_create(w), "object": [None, 7, []]},
        "published is year 99999": lambda w: _create(w, published="99999-01-01T00:00:00Z"),
        "content is a dict": lambda w: _create(w, content={"en": "<p>x</p>"}),
        "long type name": lambda w: {**_create(w), "type": "Create" + "x" * 500},
        "Undo of a string": lambda w: w.fiona.activity("Undo", "http://[::1"),
        "Delete of somebody else": lambda w: w.fiona.activity(
            "Delete", "http://localhost:8001/users/alice"
        ),
        "Follow of a bad URL": lambda w: w.fiona.activity("Follow", "http://[::1/users/alice"),
        "Accept of nothing": lambda w: w.fiona.activity("Accept", {"type": "Follow"}),
        "Announce of itself": lambda w: _self_announce(w),
    }
    for n, url in enumerate(BAD_URLS):
        cases[f"bad URL {n} as activity id"] = lambda w, u=url: {**_create(w), "id": u}
        cases[f"bad URL {n} as object id"] = lambda w, u=url: _create(w, id=u)
        cases[f"bad URL {n} as inReplyTo"] = lambda w, u=url: _create(w, inReplyTo=u)
        cases[f"bad URL {n} as url"] = lambda w, u=url: _create(w, url=u)
        cases[f"bad URL {n} in to"] = lambda w, u=url: {**_create(w), "to": [u, PUBLIC]}
        cases[f"bad URL {n} as attributedTo"] = lambda w, u=url: _create(w, attributedTo=u)
        cases[f"bad URL {n} as tag"] = lambda w, u=url: _create(
            w, tag=[{"type": "Mention", "href": u, "name": "@x"}]
        )
        cases[f"bad URL {n} as Like object"] = lambda w, u=url: w.fiona.activity("Like", u)
    return cases


def _self_announce(w: World) -> dict[str, Any]:
    activity = w.fiona.activity("Announce", None, to=[PUBLIC])
    activity["object"] = activity["id"]
    return activity


INBOX_CASES = _inbox_cases()


async def _check_inbox_case(w: World, name: str, activity: dict[str, Any]) -> list[str]:
    """Send one case and return what went wrong with it (nothing when it was handled)."""
    before = await counts(w)
    # json, not orjson: orjson refuses to write documents nested deeper than 254 levels.
    body = json.dumps(activity).encode()
    status = await post_inbox(w, body)
    await drain(w.app)
    item = await item_by_id(w, activity.get("id"))
    if status >= 500:
        return [f"{name}: answered {status}"]
    if 400 <= status < 500:
        after = await counts(w)
        if after["inbox_items"] != before["inbox_items"]:
            return [f"{name}: refused with {status} but an inbox item was stored"]
        return []
    if status != 202:
        return [f"{name}: answered {status}"]
    if item is None:
        return []  # accepted and dropped on purpose (a Delete of an actor we never knew)
    if item.state not in ("done", "ignored") or item.attempts != 0:
        return [f"{name}: item {item.state} after {item.attempts} tries: {item.error}"]
    if item.state == "ignored" and not item.error:
        return [f"{name}: ignored without a reason"]
    return []


@pytest.mark.db
async def test_hostile_inbox_input_is_refused_or_ignored(hostile: World) -> None:
    problems: list[str] = []
    with ErrorLog() as errors:
        for name, make in INBOX_CASES.items():
            problems += await _check_inbox_case(hostile, name, make(hostile))
    assert not problems, "\n".join(problems)
    assert not errors.records, "\n".join(errors.tracebacks())


async def test_deep_nesting_is_refused_with_the_reason(on_sqlite: World) -> None:
    hostile = on_sqlite
    for depth in (65, 300, 1000):
        # Written by hand: json and orjson both refuse to write this deep.
        deep = b'{"x":' * depth + b"1" + b"}" * depth
        body = orjson.dumps(_create(hostile, extra="DEEP")).replace(b'"DEEP"', deep)
        response = await hostile.app.test_client().post(
            "/users/alice/inbox", data=body,
            headers=hostile.fiona.signed_post("http://localhost:8001/users/alice/inbox", body),
        )
        assert response.status_code == 400, depth
        assert "nested deeper" in (await response.get_json())["error"]
    # Deeper than the JSON parser goes: still a 400, never a 500.
    raw = b'{"a":' * 3000 + b"1" + b"}" * 3000
    assert await post_inbox(hostile, raw) == 400
    # As deep as a real payload gets: accepted.
    ok = _create(hostile, extra=_nest(20))
    assert await post_inbox(hostile, orjson.dumps(ok)) == 202


async def test_unparsable_key_id_is_a_401_not_a_500(on_sqlite: World) -> None:
    hostile = on_sqlite
    body = orjson.dumps(_create(hostile))
    for key_id in BAD_URLS:
        headers = hostile.fiona.signed_post("http://localhost:8001/users/alice/inbox", body)
        headers["Signature"] = re.sub(r'keyId="[^"]*"', f'keyId="{key_id}"', headers["Signature"])
        response = await hostile.app.test_client().post(
            "/users/alice/inbox", data=body, headers=headers
        )
        assert response.status_code in (400, 401, 403), (key_id, response.status_code)


async def test_oversized_and_non_json_bodies(on_sqlite: World) -> None:
    hostile = on_sqlite
    limit = hostile.app.state.settings.max_body_bytes
    big = orjson.dumps(_create(hostile, content="x" * (limit + 1)))
    assert await post_inbox(hostile, big) == 413
    for raw in (b"", b"[]", b"null", b"\xff\xfe", b'{"a": 1e999}', b'{"a": "\\ud800"}', b"{"):
        assert await post_inbox(hostile, raw) == 400, raw
    assert (await counts(hostile))["inbox_items"] == 0


class RawServer(RecordingServer):
    """Fiona's server, also serving hand-written bytes (JSON no encoder would write)."""

    def __init__(self, host: str) -> None:
        """Create the server for ``host``."""
        super().__init__(host)
        self.raw: dict[str, bytes] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve ``raw`` paths as they are; the rest like a recording server."""
        body = self.raw.get(scope["path"])
        if body is None or scope["method"] != "GET":
            await super().__call__(scope, receive, send)
            return
        await send({
            "type": "http.response.start", "status": 200,
            "headers": [(b"content-type", b"application/activity+json")],
        })
        await send({"type": "http.response.body", "body": body})


@pytest.mark.db
async def test_fetched_documents_we_cannot_store_are_ignored_not_retried(
    hostile: World,
) -> None:
    """A document fetched from another server meets the same limits as the inbox's door."""
    server = RawServer(hostile.server.host)
    server.docs = hostile.server.docs
    hostile.router.add(server.host, server)
    cases = {
        "NUL in a name": lambda note: orjson.dumps({**note, "name": "a\u0000b"}),
        "NUL in a key": lambda note: orjson.dumps({**note, "odd\u0000": 1}),
        "nested 300 deep": lambda note: orjson.dumps({**note, "extra": "DEEP"}).replace(
            b'"DEEP"', b'{"x":' * 300 + b"1" + b"}" * 300
        ),
    }
    with ErrorLog() as errors:
        for name, make in cases.items():
            path = f"/notes/{uuid.uuid4()}"
            note = hostile.note(name, id=server.url(path))
            server.raw[path] = make({"@context": "https://www.w3.org/ns/activitystreams", **note})
            activity = hostile.fiona.activity("Create", note["id"], to=[PUBLIC], cc=[ALICE])
            assert await post_inbox(hostile, orjson.dumps(activity)) == 202
            await drain(hostile.app)
            item = await item_by_id(hostile, activity["id"])
            assert item is not None
            assert (item.state, item.attempts) == ("ignored", 0), (name, item.error)
            assert "NUL" in (item.error or "") or "nested" in (item.error or ""), item.error
    assert not errors.records, "\n".join(errors.tracebacks())


# ------------------------------------------------------------------ C2S outbox


def _outbox_cases(w: World) -> dict[str, Any]:
    note = {"type": "Note", "content": "hi", "to": [PUBLIC]}
    cases: dict[str, Any] = {
        "deep nesting": {**note, "extra": _nest(300)},
        "NUL in content": {**note, "content": "a\u0000b"},
        "type is a dict": {**note, "type": {"Note": 1}},
        "type is a list": {**note, "type": ["Note", "Article"]},
        "object is a number": {"type": "Create", "object": 7, "to": [PUBLIC]},
        "Create of a Note with dict content": {**note, "content": {"x": 1}},
        "Note to a bad URL": {**note, "to": BAD_URLS},
        "Follow of a bad URL": {"type": "Follow", "object": "http://[::1"},
        "Follow of a dict": {"type": "Follow", "object": {"id": {"x": 1}}},
        "Follow of a handle on a bad host": {"type": "Follow", "object": "x@[::1"},
        "Like of a bad URL": {"type": "Like", "object": "http://[::1/x"},
        "Announce of a list": {"type": "Announce", "object": [1, 2]},
        "Undo of a dict without type": {"type": "Undo", "object": {"object": "http://[::1"}},
        "Undo of a Follow of a bad URL": {
            "type": "Undo", "object": {"type": "Follow", "object": "http://[::1"}
        },
        "Delete of a bad URL": {"type": "Delete", "object": "http://[::1"},
        "Update without id": {"type": "Update", "object": {"type": "Note", "content": "x"}},
        "Update of a bad URL": {
            "type": "Update", "object": {"type": "Note", "id": "http://[::1", "content": "x"}
        },
        "Accept of a bad URL": {"type": "Accept", "object": "http://[::1"},
        "reply to a bad URL": {**note, "inReplyTo": "http://[::1"},
        "summary is a list": {**note, "summary": ["x"]},
        "source is a dict of junk": {**note, "source": {"content": 7}},
        "addressing is a dict": {**note, "to": {"id": PUBLIC}},
    }
    return cases


@pytest.mark.db
async def test_hostile_outbox_input_never_500s_or_half_writes(hostile: World) -> None:
    problems: list[str] = []
    with ErrorLog() as errors:
        for name, document in _outbox_cases(hostile).items():
            before = await counts(hostile)
            status, _payload = await post_outbox(hostile, json.dumps(document).encode())
            after = await counts(hostile)
            if status >= 500:
                problems.append(f"{name}: answered {status}")
            elif status >= 400 and after["outbox"] != before["outbox"]:
                problems.append(f"{name}: refused with {status} but an activity was stored")
            elif status == 201 and after["outbox"] != before["outbox"] + 1:
                problems.append(f"{name}: created, but {after['outbox'] - before['outbox']} rows")
    assert not problems, "\n".join(problems)
    assert not errors.records, "\n".join(errors.tracebacks())
