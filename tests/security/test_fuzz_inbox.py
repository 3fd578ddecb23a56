"""Property-based fuzzing of the inbox: whatever arrives, never a 500 and never a retried poison.

Hypothesis builds activities from valid templates (Create, Update, Follow, Like, Announce,
Undo, Delete, Accept, Join, Flag) with hostile changes (see ``fuzz_strategies``), plus raw
byte bodies and deeply nested ones, and POSTs each, signed by fiona on the fake server, to
alice's inbox, the shared inbox or the tribe's inbox of one instance. Then the inbox worker
runs. For every example:

- the answer is never 5xx;
- a 4xx stores nothing (no half-written row);
- a 202 ends as an inbox item ``done`` or ``ignored`` with its reason on the first try
  (never ``failed``, never pending for a retry), and no item of the instance is left
  pending or failed;
- nothing logs an error or a traceback.

Runs are bounded (``max_examples``) so the whole attack suite stays fast.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from attack_helpers import ErrorLog, LoopWorld, World, counts, drain, item_by_id, post_inbox
from fuzz_strategies import (
    BASE,
    ENGINES,
    FUZZ,
    PUBLIC,
    apply_mutations,
    body_of,
    mutations,
    raw_bodies,
    wrap_depths,
)
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from models import InboxItem

ALICE = f"{BASE}/users/alice"
TRIBE = f"{BASE}/tribes/plein"
INBOXES = ["/users/alice/inbox", "/inbox", "/tribes/plein/inbox"]


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopWorld]:
    """One instance for all examples (on a loop of its own: hypothesis cannot await)."""
    with LoopWorld(tmp_path_factory.mktemp("fuzz-inbox"), request.param) as made:
        yield made


def _template(w: World, name: str) -> dict[str, Any]:
    fiona = w.fiona
    note = w.note("fuzz")
    follow = fiona.activity("Follow", ALICE)
    templates = {
        "Create": lambda: fiona.activity("Create", note, to=[PUBLIC], cc=[ALICE]),
        "CreateInTribe": lambda: fiona.activity(
            "Create", {**note, "cc": [TRIBE], "tag": [{"type": "Mention", "href": TRIBE}]},
            to=[PUBLIC], cc=[TRIBE],
        ),
        "Update": lambda: fiona.activity("Update", note, to=[PUBLIC]),
        "Follow": lambda: follow,
        "FollowTribe": lambda: fiona.activity("Follow", TRIBE),
        "Like": lambda: fiona.activity("Like", f"{BASE}/notes/1"),
        "Announce": lambda: fiona.activity("Announce", note["id"], to=[PUBLIC]),
        "Undo": lambda: fiona.activity("Undo", follow),
        "Delete": lambda: fiona.activity("Delete", note["id"], to=[PUBLIC]),
        "DeleteSelf": lambda: fiona.activity("Delete", fiona.id, to=[PUBLIC]),
        "Accept": lambda: fiona.activity(
            "Accept", {"type": "Follow", "actor": ALICE, "object": fiona.id,
                       "id": f"{BASE}/activities/{uuid.uuid4()}"},
        ),
        "Join": lambda: fiona.activity("Join", TRIBE),
        "Flag": lambda: fiona.activity("Flag", [ALICE], content="spam"),
    }
    return templates[name]()


TEMPLATES = [
    "Create", "CreateInTribe", "Update", "Follow", "FollowTribe", "Like", "Announce", "Undo",
    "Delete", "DeleteSelf", "Accept", "Join", "Flag",
]


async def _check(w: World, body: bytes, ap_id: Any, path: str) -> None:
    before = await counts(w)
    status = await post_inbox(w, body, path)
    assert status < 500, f"answered {status}"
    await drain(w.app)
    item = await item_by_id(w, ap_id)
    event(f"answered {status}, item {item.state if item else 'not stored'}")
    if 400 <= status < 500:
        after = await counts(w)
        assert after["inbox_items"] == before["inbox_items"], f"{status} but a row was stored"
    else:
        assert status == 202, status
        item = await item_by_id(w, ap_id)
        if item is not None:
            assert item.state in ("done", "ignored"), (item.state, item.error)
            assert item.attempts == 0, (item.attempts, item.error)
            assert item.state == "done" or item.error, "ignored without a reason"
    async with w.app.state.db.session() as db:
        stuck = list(await db.scalars(
            select(InboxItem).where(InboxItem.state.not_in(("done", "ignored")))
        ))
    assert not stuck, [(i.ap_id, i.state, i.attempts, i.error) for i in stuck]


@FUZZ
@given(
    template=st.sampled_from(TEMPLATES),
    changes=st.lists(mutations, min_size=1, max_size=4),
    wrap_depth=wrap_depths,
    path=st.sampled_from(INBOXES),
)
def test_fuzzed_activities_never_500_or_retry(
    fuzz_world: LoopWorld, template: str, changes: list[Any], wrap_depth: int, path: str
) -> None:
    w = fuzz_world.world
    activity = _template(w, template)
    apply_mutations(activity, changes)
    body = body_of(activity, wrap_depth)
    with ErrorLog() as errors:
        fuzz_world.run(_check(w, body, activity.get("id"), path))
    assert not errors.records, "\n".join(errors.tracebacks())


@FUZZ
@given(body=raw_bodies, path=st.sampled_from(INBOXES))
def test_raw_bodies_are_refused(fuzz_world: LoopWorld, body: bytes, path: str) -> None:
    w = fuzz_world.world

    async def check() -> None:
        before = await counts(w)
        status = await post_inbox(w, body, path)
        assert 400 <= status < 500, status
        assert await counts(w) == before

    with ErrorLog() as errors:
        fuzz_world.run(check())
    assert not errors.records, "\n".join(errors.tracebacks())
