"""Members-only and private initiatives across instances.

A (localhost:8001, on the parametrised database) hosts alice's approval tribe ``plein``;
B (localhost:8002) has bob and eve, members of the tribe, and dan, who is not; three
Mastodon-shaped servers hold mo (a member), mia (asked to join, still pending: a follower of
the tribe who is no member) and nina (who follows alice, not the tribe). A restricted
initiative must reach exactly the people allowed to see it, be served only to signed
fetches of those, stay restricted in every copy, and never show up in a public collection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeActor
from harness import AppPair, drain
from restricted_helpers import (
    actor,
    approve,
    follow_group,
    instances,
    page_status,
    signed_fetch,
    signed_get_as,
    told,
)
from sqlalchemy import select
from tribe_fed_helpers import AP_HEADERS, PUBLIC, RecordingServer, deliver, remote
from tribe_helpers import make_person, make_tribe

from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiative_people,
    initiatives,
)
from fedi.domain.remote_tribes import ensure_remote_tribe
from models import Comment, Contribution, Delivery, Initiative, OutboxActivity, Task, Tribe

A = "http://localhost:8001"
B = "http://localhost:8002"
C = "http://localhost:8003"
PLEIN = f"{A}/tribes/plein"
ALICE = f"{A}/users/alice"
BOB = f"{B}/users/bob"
PAGE = f"{A}/initiatives/1"


@pytest.fixture
async def pair(tmp_path: Path, db_target: Any) -> Any:
    """A (tribe, on the parametrised database) and B."""
    async with instances(tmp_path, db_target) as apps:
        yield apps


@pytest.fixture
async def trio(tmp_path: Path, db_target: Any) -> Any:
    """A, B and C (localhost:8003)."""
    async with instances(tmp_path, db_target, 3) as apps:
        yield apps


class World:
    """The people of the module notes and their fake servers."""

    def __init__(self, apps: AppPair) -> None:
        self.a, self.b = apps.a, apps.b
        self.router = apps.router
        self.mo_server, self.mo = remote(apps.router, "localhost:9001", "mo")
        self.mia_server, self.mia = remote(apps.router, "localhost:9002", "mia")
        self.nina_server, self.nina = remote(apps.router, "localhost:9003", "nina")

    @property
    def servers(self) -> dict[str, RecordingServer]:
        """The fake servers by the name of their person."""
        return {"mo": self.mo_server, "mia": self.mia_server, "nina": self.nina_server}


async def _world(apps: AppPair) -> World:
    world = World(apps)
    a, b = apps.a, apps.b
    for name in ("alice", "carol"):
        await make_person(a, name)
    await make_tribe(a, "plein", "alice", join_mode="approval")
    for name in ("bob", "eve", "dan"):
        await make_person(b, name)
    await follow_group(b, "bob", "plein@localhost:8001")
    await follow_group(b, "eve", "plein@localhost:8001")
    for fake in (world.mo, world.mia):
        assert await deliver(a, fake, fake.activity("Follow", PLEIN), "/tribes/plein/inbox") == 202
    follow = world.nina.activity("Follow", ALICE)
    assert await deliver(a, world.nina, follow, "/users/alice/inbox") == 202
    await drain(a, b)
    for member in (BOB, f"{B}/users/eve", world.mo.id):
        await approve(a, "plein", "alice", member)
    await drain(a, b)
    for server in world.servers.values():
        server.posts.clear()
    return world


async def _alice_initiative(a: Any, visibility: str = "members") -> int:
    """Alice's initiative in her tribe with a task and a message; returns its number on A."""
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, alice, name="Buurtfeest", summary="Alleen voor ons",
            description="Het **geheime** plan.", visibility=visibility,
        )
        await initiative_board.add_task(
            db, a.state.settings, initiative, alice, name="Tafels lenen"
        )
        await conversation.post_message(
            db, a.state.settings, initiative, alice, "Wie neemt de taart mee?"
        )
        return initiative.id


async def _copy(app: Any, page_id: str) -> Initiative | None:
    async with app.state.db.session() as db:
        return await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))


async def _copy_parts(app: Any, page_id: str) -> tuple[list[str], int]:
    """(task names, comments) of the copy of ``page_id`` on ``app``."""
    async with app.state.db.session() as db:
        found = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        assert found is not None
        tasks = (await db.scalars(
            select(Task.name).where(Task.initiative_id == found.id).order_by(Task.id)
        )).all()
        comments = (await db.scalars(
            select(Comment.id).where(Comment.initiative_id == found.id)
        )).all()
        return list(tasks), len(comments)


async def test_members_only_initiative_reaches_members_not_followers(pair: AppPair) -> None:
    world = await _world(pair)
    a, b = pair.a, pair.b
    number = await _alice_initiative(a)
    await drain(a, b)

    # B keeps a copy with the task and the message, still members-only.
    copy = await _copy(b, PAGE)
    assert copy is not None and not copy.local and copy.visibility == "members"
    assert (await _copy_parts(b, PAGE))[0] == ["Tafels lenen"]
    # Bob answers from B; the comment reaches A (the host) through the tribe's rules.
    async with b.state.db.session() as db:
        bob = await actor(db, BOB)
        here = await db.get(Initiative, copy.id)
        await conversation.add_comment(db, b.state.settings, here, bob, "Ik neem tafels mee")
    await drain(a, b)
    assert (await _copy_parts(a, PAGE))[1] == 1

    # Mo, a member on Mastodon, got the tribe's announces: to the members collection, the
    # people themselves never on the wire, nothing public.
    announces = [d for d in told(world.mo_server, PAGE) if d["type"] == "Announce"]
    assert announces and all(d["actor"] == PLEIN for d in announces)
    for doc in announces:
        assert doc["to"] == [f"{PLEIN}/members"] and doc.get("cc") == []
        assert "bto" not in doc and PUBLIC not in str(doc)
    # Mia (a pending follower of the tribe) and nina (alice's follower) got nothing of it.
    assert told(world.mia_server, PAGE) == [] and told(world.nina_server, PAGE) == []
    assert told(world.nina_server, "Buurtfeest") == []

    # One delivery per shared inbox: bob and eve are both on B.
    async with a.state.db.session() as db:
        create = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.type == "Announce", OutboxActivity.object_ap_id.is_not(None),
                OutboxActivity.public.is_(False),
            ).order_by(OutboxActivity.id).limit(1)
        )
        assert create is not None
        inboxes = (await db.scalars(
            select(Delivery.inbox_url).where(Delivery.activity_id == create.id)
        )).all()
    assert sorted(inboxes) == [f"{B}/inbox", "http://localhost:9001/inbox"]

    # Pages: hidden from anonymous visitors on both servers, shown to members only.
    assert await page_status(a, f"/initiatives/{number}") == 404
    assert await page_status(b, f"/initiatives/{copy.id}") == 404
    assert await page_status(b, f"/initiatives/{copy.id}", "bob") == 200
    assert await page_status(b, f"/initiatives/{copy.id}", "dan") == 404
    assert await page_status(a, f"/initiatives/{number}", "carol") == 404

    # Public collections and pages never list it.
    client = a.test_client()
    for path in ("/tribes/plein/outbox?page=1", "/users/alice/outbox?page=1",
                 "/tribes/plein/featured"):
        body = await (await client.get(path, headers=AP_HEADERS)).get_data(as_text=True)
        assert PAGE not in body, path
    html = await (await client.get("/tribes/plein/activity")).get_data(as_text=True)
    assert PAGE not in html and "Buurtfeest" not in html
    for path in ("/initiatives/1/replies", "/initiatives/1/likes", "/initiatives/1"):
        assert (await client.get(path, headers=AP_HEADERS)).status_code == 404, path


async def test_signed_fetches_of_restricted_objects(pair: AppPair) -> None:
    world = await _world(pair)
    a, b = pair.a, pair.b
    number = await _alice_initiative(a)
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        here = await db.get(Initiative, number)
        comment = await conversation.add_comment(db, a.state.settings, here, alice, "Top!")
        task = await db.scalar(select(Task).where(Task.initiative_id == number))
        assert task is not None
    await drain(a, b)
    paths = [
        f"/initiatives/{number}", f"/initiatives/{number}/tasks/{task.id}",
        f"/initiatives/{number}/replies?page=1", f"/initiatives/{number}/likes",
        f"/initiatives/{number}/comments/{comment.id}",
    ]
    for path in paths:
        # Unsigned: as if it did not exist.
        response = await a.test_client().get(path, headers=AP_HEADERS)
        assert response.status_code == 404, path
        # Signed by bob, a member on B: the JSON.
        doc = await signed_fetch(b, "bob", A + path)
        assert isinstance(doc, dict), (path, doc)
        # Signed by dan, on the same server but no member: 404.
        assert await signed_fetch(b, "dan", A + path) == 404, path
        # Signed by B's instance actor (a server where members live): the JSON.
        assert isinstance(await signed_fetch(b, None, A + path), dict), path
    page = await signed_fetch(b, "bob", PAGE)
    assert isinstance(page, dict)
    assert page["visibility"] == "members" and page["to"] == [PLEIN]
    assert PUBLIC not in page["to"] + page["cc"]
    replies = await signed_fetch(b, "bob", f"{PAGE}/replies?page=1")
    assert isinstance(replies, dict)
    notes = [i for i in replies["orderedItems"] if isinstance(i, dict)]
    assert notes and all(n["to"] == [PLEIN] and PUBLIC not in n["cc"] for n in notes)
    # A member on Mastodon signs the way Mastodon does: served.
    signed = await signed_get_as(a, world.mo.key_id, world.mo.private_pem, f"/initiatives/{number}")
    assert signed.status_code == 200
    assert signed.headers.get("Cache-Control") == "private"
    # A pending follower of the tribe is no member: 404.
    pending = await signed_get_as(
        a, world.mia.key_id, world.mia.private_pem, f"/initiatives/{number}"
    )
    assert pending.status_code == 404


async def test_private_initiative_reaches_partners_only(pair: AppPair) -> None:
    world = await _world(pair)
    a, b = pair.a, pair.b
    number = await _alice_initiative(a)
    await drain(a, b)
    # Bob asks from B to become a partner; alice accepts on A.
    async with b.state.db.session() as db:
        bob = await actor(db, BOB)
        copy = await db.scalar(select(Initiative).where(Initiative.ap_id == PAGE))
        await initiative_people.request_partnership(db, b.state.settings, copy, bob, "Graag")
        copy_id = copy.id
    await drain(a, b)
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        here = await db.get(Initiative, number)
        await initiative_people.accept_partner(
            db, a.state.settings, here, alice, (await actor(db, BOB)).id
        )
    await drain(a, b)
    for server in world.servers.values():
        server.posts.clear()

    # Alice makes it private and adds a task.
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        here = await db.get(Initiative, number)
        await initiatives.update_initiative(
            db, a.state.settings, here, alice, visibility="private"
        )
        task = await initiative_board.add_task(
            db, a.state.settings, here, alice, name="Cadeau kopen"
        )
        task_path = f"/initiatives/{number}/tasks/{task.id}"
    await drain(a, b)

    # Bob (a partner on B) has the new task; B's copy is private now.
    copy = await _copy(b, PAGE)
    assert copy is not None and copy.visibility == "private"
    assert "Cadeau kopen" in (await _copy_parts(b, PAGE))[0]
    # Mo (a member, no partner) heard that it narrowed, and nothing after.
    assert [d["object"]["type"] for d in told(world.mo_server, PAGE)] == ["Update"]
    assert told(world.mo_server, "Cadeau kopen") == []
    for name in ("mia", "nina"):
        assert told(world.servers[name], PAGE) == [], name
    # On B, bob sees it, eve (a member, no partner) does not.
    assert await page_status(b, f"/initiatives/{copy_id}", "bob") == 200
    assert await page_status(b, f"/initiatives/{copy_id}", "eve") == 404
    # Signed fetches: bob yes, eve no, B's server yes (a partner lives there), mo no.
    assert isinstance(await signed_fetch(b, "bob", A + task_path), dict)
    assert await signed_fetch(b, "eve", A + task_path) == 404
    assert isinstance(await signed_fetch(b, None, A + task_path), dict)
    mo_get = await signed_get_as(a, world.mo.key_id, world.mo.private_pem, task_path)
    assert mo_get.status_code == 404
    # The Update went to the partners only (and the tribe); the Ticket to the partners.
    async with a.state.db.session() as db:
        sent = (await db.scalars(
            select(OutboxActivity).where(
                OutboxActivity.actor_id == (await actor(db, ALICE)).id,
                OutboxActivity.type.in_(("Update", "Create")),
            ).order_by(OutboxActivity.id.desc()).limit(2)
        )).all()
    ticket, update = sent
    assert ticket.payload["to"] == [BOB] and ticket.public is False
    assert update.payload["object"]["visibility"] == "private"
    assert PLEIN in update.payload["to"] + update.payload["cc"]


async def test_public_initiative_made_members_only_leaves_public_collections(
    pair: AppPair,
) -> None:
    world = await _world(pair)
    a, b = pair.a, pair.b
    number = await _alice_initiative(a, visibility="public")
    await drain(a, b)
    client = a.test_client()
    outbox = await (await client.get("/users/alice/outbox?page=1", headers=AP_HEADERS)).get_json()
    assert PAGE in str(outbox["orderedItems"])
    boosts = [d for d in world.mo_server.boosts() if d["object"] == PAGE]
    assert boosts
    async with a.state.db.session() as db:
        alice = await actor(db, ALICE)
        create = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.type == "Create", OutboxActivity.object_ap_id == PAGE
            )
        )
        assert create is not None
        create_path = create.ap_id.removeprefix(A)
        here = await db.get(Initiative, number)
        await initiatives.update_initiative(
            db, a.state.settings, here, alice, visibility="members"
        )
    await drain(a, b)

    # The tribe took its boost back (Mastodon removes it from timelines), naming it by id.
    undos = [d for d in world.mo_server.received("Undo") if d["actor"] == PLEIN]
    assert boosts[0]["id"] in [u["object"]["id"] for u in undos]
    assert all("Buurtfeest" not in str(u) for u in undos)
    # Nothing about it is left in the public collections, nor served unsigned.
    for path in ("/users/alice/outbox?page=1", "/tribes/plein/outbox?page=1"):
        body = await (await client.get(path, headers=AP_HEADERS)).get_data(as_text=True)
        assert PAGE not in body, path
    # The activity asks for credentials (401, as for any activity that is not public: its
    # UUID id reveals nothing); the initiative itself is not found for a stranger.
    unsigned = await client.get(create_path, headers=AP_HEADERS)
    assert unsigned.status_code == 401 and "WWW-Authenticate" in unsigned.headers
    assert "Buurtfeest" not in await unsigned.get_data(as_text=True)
    assert (await client.get(f"/initiatives/{number}", headers=AP_HEADERS)).status_code == 404
    # B's copy followed (bob is a member).
    copy = await _copy(b, PAGE)
    assert copy is not None and copy.visibility == "members"


async def test_members_only_initiative_hosted_off_the_tribe_server(trio: AppPair) -> None:
    """Bob on B starts a members-only initiative in A's tribe; dave on C is a member. B
    learns who the members are from the tribe's members collection."""
    a, b = trio.a, trio.b
    c = trio.extra[0]
    nina_server, nina = remote(trio.router, "localhost:9003", "nina")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    await make_person(b, "bob")
    await make_person(c, "dave")
    await make_person(c, "frank")
    await follow_group(b, "bob", "plein@localhost:8001")
    await follow_group(c, "dave", "plein@localhost:8001")
    assert await deliver(b, nina, nina.activity("Follow", BOB), "/users/bob/inbox") == 202
    await drain(a, b, c)
    async with b.state.db.session() as db:
        bob = await actor(db, BOB)
        tribe = await ensure_remote_tribe(db, await actor(db, PLEIN))
        initiative = await initiatives.create_initiative(
            db, b.state.settings, tribe, bob, name="Moestuin", visibility="members"
        )
        await initiative_board.add_task(db, b.state.settings, initiative, bob, name="Spitten")
        page_id = initiative.ap_id or ""
    await drain(a, b, c)

    # The tribe's server and dave's server keep members-only copies with the task.
    for app in (a, c):
        copy = await _copy(app, page_id)
        assert copy is not None and copy.visibility == "members"
        assert (await _copy_parts(app, page_id))[0] == ["Spitten"]
    assert told(nina_server, page_id) == []
    # B serves it to dave (a member it learnt of from A) and to C's server, not to frank.
    path = page_id.removeprefix(B)
    assert (await b.test_client().get(path, headers=AP_HEADERS)).status_code == 404
    assert isinstance(await signed_fetch(c, "dave", page_id), dict)
    assert isinstance(await signed_fetch(c, None, page_id), dict)
    assert await signed_fetch(c, "frank", page_id) == 404
    copy_c = await _copy(c, page_id)
    assert copy_c is not None
    assert await page_status(c, f"/initiatives/{copy_c.id}", "dave") == 200
    assert await page_status(c, f"/initiatives/{copy_c.id}", "frank") == 404

    # Dave offers from C; B (the host) takes it: the tribe's server vouches for him.
    async with c.state.db.session() as db:
        dave = await actor(db, f"{C}/users/dave")
        here = await db.get(Initiative, copy_c.id)
        task = await db.scalar(select(Task).where(Task.initiative_id == copy_c.id))
        assert here is not None and task is not None
        await contributions.offer(db, c.state.settings, here, dave, task.id, hours=3)
    await drain(a, b, c)
    async with b.state.db.session() as db:
        offers = (await db.scalars(select(Contribution))).all()
        assert [o.actor.ap_id for o in offers] == [f"{C}/users/dave"]
        # Bob accepts on B; dave's server hears it.
        bob = await actor(db, BOB)
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        await contributions.decide(
            db, b.state.settings, here, bob, offers[0].id, accept=True
        )
    await drain(a, b, c)
    async with c.state.db.session() as db:
        states = (await db.scalars(select(Contribution.state))).all()
    assert states == ["accepted"]


async def test_members_only_page_from_a_remote_member(
    pair: AppPair,
) -> None:
    """A Mastodon-shaped member posting a Create{Page} of a members-only initiative into
    the tribe: the tribe keeps it restricted and announces it to the members only."""
    world = await _world(pair)
    a, b = pair.a, pair.b
    mo: FakeActor = world.mo
    page_id = mo.server.url("/initiatives/7")
    page = {
        "id": page_id, "type": "Page", "name": "Geheime tuin", "summary": "Voor leden",
        "content": "<p>Plan</p>", "url": page_id, "attributedTo": mo.id, "phase": "idea",
        "visibility": "members", "to": [PLEIN], "audience": PLEIN, "context": page_id,
    }
    mo.server.docs["/initiatives/7"] = page
    create = mo.activity("Create", page, to=[PLEIN])
    assert await deliver(a, mo, create, "/tribes/plein/inbox") == 202
    await drain(a, b)
    copy = await _copy(a, page_id)
    assert copy is not None and copy.visibility == "members"
    body = await (await a.test_client().get(
        "/tribes/plein/outbox?page=1", headers=AP_HEADERS
    )).get_data(as_text=True)
    assert page_id not in body
    # Bob's server got the announce, confirmed the Page at its origin and keeps it
    # members-only too; mia (pending) heard nothing.
    assert ("GET", "/initiatives/7") in mo.server.requests
    copy_b = await _copy(b, page_id)
    assert copy_b is not None and copy_b.visibility == "members"
    assert told(world.mia_server, page_id) == []
