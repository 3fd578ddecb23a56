"""Property-based fuzzing of the C2S outbox: never a 500, never a half-written activity.

Hypothesis builds documents from valid templates (a bare Note, Create, Update and Delete of
alice's note, Follow, Like, Announce, Undo, Accept, Reject) with hostile changes (see
``fuzz_strategies``) and deeply nested or raw bodies, and POSTs each to alice's outbox with
her bearer token. For every example:

- the answer is never 5xx;
- a 4xx leaves no activity, object or delivery behind (no half-written row);
- a 201 stored at most one new activity, and the one it answers with exists;
- nothing logs an error or a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from attack_helpers import ALICE, BASE, ErrorLog, LoopWorld, World, counts, post_outbox
from fuzz_strategies import (
    ENGINES,
    FUZZ,
    PUBLIC,
    REMOTE,
    apply_mutations,
    body_of,
    mutations,
    raw_bodies,
    wrap_depths,
)
from hypothesis import event, example, given
from hypothesis import strategies as st
from sqlalchemy import select

from models import OutboxActivity


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopWorld]:
    """One instance for all examples, with one note of alice's to update, delete and like."""
    with LoopWorld(tmp_path_factory.mktemp("fuzz-outbox"), request.param) as made:
        status, payload = made.run(post_outbox(made.world, orjson.dumps(
            {"type": "Note", "content": "first", "to": [PUBLIC]}
        )))
        assert status == 201, payload
        made.world.note_id = payload["object"]["id"]  # type: ignore[attr-defined]
        yield made


def _template(w: World, name: str) -> dict[str, Any]:
    note_id: str = w.note_id  # type: ignore[attr-defined]
    fiona = w.fiona.id
    note = {"type": "Note", "content": "fuzz", "to": [PUBLIC]}
    templates: dict[str, Any] = {
        "Note": note,
        "Create": {"type": "Create", "object": note, "to": [PUBLIC]},
        "Update": {"type": "Update", "object": {**note, "id": note_id}},
        "Delete": {"type": "Delete", "object": note_id},
        "Follow": {"type": "Follow", "object": fiona},
        "FollowHandle": {"type": "Follow", "object": "fiona@localhost:9001"},
        "Like": {"type": "Like", "object": note_id},
        "Announce": {"type": "Announce", "object": note_id},
        "Undo": {"type": "Undo", "object": {"type": "Follow", "object": fiona}},
        "Accept": {"type": "Accept", "object": fiona},
        "Reject": {"type": "Reject", "object": {"type": "Follow", "actor": fiona}},
        "Reply": {**note, "inReplyTo": f"{REMOTE}/notes/missing", "cc": [fiona]},
    }
    return orjson.loads(orjson.dumps(templates[name]))  # a fresh copy to mutate


TEMPLATES = [
    "Note", "Create", "Update", "Delete", "Follow", "FollowHandle", "Like", "Announce",
    "Undo", "Accept", "Reject", "Reply",
]


async def _check(w: World, body: bytes) -> None:
    before = await counts(w)
    status, payload = await post_outbox(w, body)
    after = await counts(w)
    event(f"answered {status}")
    assert status < 500, (status, payload)
    if status >= 400:
        assert after["outbox"] == before["outbox"], "refused, but an activity was stored"
        assert after["deliveries"] == before["deliveries"], "refused, but deliveries were made"
        assert after["objects"] == before["objects"], "refused, but an object was stored"
    elif status == 201:
        # At most one of hers: a repeated Like or Follow answers with the activity already
        # made. A post that reaches her tribe adds the tribe's Announces besides.
        assert after["alice_outbox"] in (before["alice_outbox"], before["alice_outbox"] + 1)
        if after["outbox"] - after["alice_outbox"] != before["outbox"] - before["alice_outbox"]:
            async with w.app.state.db.session() as db:
                others = (await db.scalars(
                    select(OutboxActivity).order_by(OutboxActivity.id.desc()).limit(
                        after["outbox"] - before["outbox"])
                )).all()
            assert {a.type for a in others if a.payload.get("actor") != ALICE} == {"Announce"}
            assert {a.payload["actor"] for a in others} <= {ALICE, f"{BASE}/tribes/plein"}
        async with w.app.state.db.session() as db:
            stored = await db.scalar(
                select(OutboxActivity).where(OutboxActivity.ap_id == payload["id"])
            )
        assert stored is not None


@FUZZ
@given(
    template=st.sampled_from(TEMPLATES),
    changes=st.lists(mutations, min_size=1, max_size=4),
    wrap_depth=wrap_depths,
)
# Found by the fuzzer: a bare Note to alice's own tribe, which the tribe then announces.
@example(
    template="Note",
    changes=[("activity", "id", None, False),
             ("activity", "cc", [f"{BASE}/tribes/plein"], False)],
    wrap_depth=0,
)
def test_fuzzed_c2s_documents_never_500_or_half_write(
    fuzz_world: LoopWorld, template: str, changes: list[Any], wrap_depth: int
) -> None:
    w = fuzz_world.world
    document = _template(w, template)
    apply_mutations(document, changes)
    with ErrorLog() as errors:
        fuzz_world.run(_check(w, body_of(document, wrap_depth)))
    assert not errors.records, "\n".join(errors.tracebacks())


@FUZZ
@given(body=raw_bodies)
def test_raw_c2s_bodies_are_refused(fuzz_world: LoopWorld, body: bytes) -> None:
    w = fuzz_world.world

    async def check() -> None:
        before = await counts(w)
        status, _ = await post_outbox(w, body)
        assert 400 <= status < 500, status
        assert await counts(w) == before

    with ErrorLog() as errors:
        fuzz_world.run(check())
    assert not errors.records, "\n".join(errors.tracebacks())
