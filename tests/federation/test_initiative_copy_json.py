"""A server keeping a copy of a remote initiative never serves it as its own: JSON requests
for the copy, its tasks, messages, comments and collections redirect (302) to the original
ids, restricted copies answer 404 to those who may not see them, and what was made on the
copy's server (a comment of one of its people) is still served there. The HTML pages of the
copy keep working for local people.

A (alice's tribe ``plein``, the host of alice's initiative) runs on the parametrised
database; B (bob, a member) keeps copies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import AppPair, drain
from initiative_fed_helpers import AP_HEADERS, BOB, setup_scenario
from restricted_helpers import actor, instances, page_status, signed_fetch
from sqlalchemy import select

from fedi.domain import conversation, initiative_board, initiatives
from fedi.federation.runtime import get_federation
from models import Comment, Initiative, InitiativeUpdate, Task, Tribe

A = "http://localhost:8001"
ALICE = f"{A}/users/alice"


@pytest.fixture
async def pair(tmp_path: Path, db_target: Any) -> Any:
    """A (on the parametrised database) and B."""
    async with instances(tmp_path, db_target) as apps:
        yield apps


async def _alice_initiative(a: Any, visibility: str) -> tuple[str, str, str, str]:
    """Alice's initiative with a task, a message and a comment: their ids."""
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, alice, name="Moestuin", visibility=visibility
        )
        task = await initiative_board.add_task(
            db, a.state.settings, initiative, alice, name="Spitten"
        )
        message = await conversation.post_message(
            db, a.state.settings, initiative, alice, "We beginnen zaterdag"
        )
        comment = await conversation.add_comment(
            db, a.state.settings, initiative, alice, "Neem een schep mee"
        )
        return (
            initiative.ap_id or "", task.ap_id or "", message.ap_id or "", comment.ap_id or ""
        )


async def _numbers(b: Any, page_id: str) -> dict[str, Any]:
    """The local numbers of the copy of ``page_id`` on ``b`` and of its parts."""
    async with b.state.db.session() as db:
        copy = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        assert copy is not None and not copy.local
        task = await db.scalar(select(Task).where(Task.initiative_id == copy.id))
        message = await db.scalar(select(InitiativeUpdate).where(
            InitiativeUpdate.initiative_id == copy.id, InitiativeUpdate.kind == "message"
        ))
        comment = await db.scalar(select(Comment).where(Comment.initiative_id == copy.id))
        assert task is not None and message is not None and comment is not None
        return {"copy": copy.id, "task": task.id, "message": message.id, "comment": comment.id}


async def test_json_of_a_copy_redirects_to_the_original(pair: AppPair) -> None:
    s = await setup_scenario(pair)
    a, b = s.a, s.b
    page_id, task_id, message_id, comment_id = await _alice_initiative(a, "public")
    await drain(a, b)
    n = await _numbers(b, page_id)
    client = b.test_client()
    base = f"/initiatives/{n['copy']}"
    expected = {
        base: page_id,
        f"{base}/tasks/{n['task']}": task_id,
        f"{base}/updates/{n['message']}": message_id,
        f"{base}/comments/{n['comment']}": comment_id,
        f"{base}/replies": f"{page_id}/replies",
        f"{base}/replies?page=1": f"{page_id}/replies?page=1",
        f"{base}/likes": f"{page_id}/likes",
    }
    for path, target in expected.items():
        response = await client.get(path, headers=AP_HEADERS)
        assert response.status_code == 302, path
        assert response.headers["Location"] == target, path
    # A fetch of the copy's URL ends at the original document, which names its own id.
    doc = await get_federation(b.state).fetcher.fetch_json(f"http://localhost:8002{base}")
    assert doc["id"] == page_id and doc["type"] == "Page"
    # The HTML pages of the copy work as before.
    assert await page_status(b, base) == 200
    assert await page_status(b, f"{base}/tasks/{n['task']}") == 200
    # The original still answers with its JSON.
    original = await a.test_client().get(page_id.removeprefix(A), headers=AP_HEADERS)
    assert original.status_code == 200 and (await original.get_json())["id"] == page_id

    # A comment bob writes on B is B's own object: B serves it at its id.
    async with b.state.db.session() as db:
        here = await db.get(Initiative, n["copy"])
        mine = await conversation.add_comment(
            db, b.state.settings, here, await actor(db, BOB), "Ik kom ook"
        )
        mine_id, mine_number = mine.ap_id or "", mine.id
    assert mine_id == f"http://localhost:8002{base}/comments/{mine_number}"
    response = await client.get(f"{base}/comments/{mine_number}", headers=AP_HEADERS)
    assert response.status_code == 200
    note = await response.get_json()
    assert note["id"] == mine_id and note["context"] == page_id


async def test_restricted_copy_is_not_revealed(pair: AppPair) -> None:
    s = await setup_scenario(pair)
    a, b = s.a, s.b
    page_id, task_id, _message_id, _comment_id = await _alice_initiative(a, "members")
    await drain(a, b)
    n = await _numbers(b, page_id)
    base = f"/initiatives/{n['copy']}"
    client = b.test_client()
    # Anonymous: 404 without a Location, so not even the original id leaks.
    for path in (base, f"{base}/tasks/{n['task']}", f"{base}/replies", f"{base}/likes"):
        response = await client.get(path, headers=AP_HEADERS)
        assert response.status_code == 404, path
        assert "Location" not in response.headers
    # Signed by alice (A), a member: redirected to the original, which she may read.
    doc = await signed_fetch(a, "alice", f"http://localhost:8002{base}/tasks/{n['task']}")
    assert isinstance(doc, dict) and doc["id"] == task_id
    # The page itself is there for bob, a member, logged in on B.
    assert await page_status(b, base, "bob") == 200
