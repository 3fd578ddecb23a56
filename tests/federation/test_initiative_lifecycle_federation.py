"""What happens to an initiative after it was created, across two instances.

The scenario of ``initiative_fed_helpers.setup_scenario``: alice's tribe ``plein`` and carol
on A (localhost:8001), bob on B (localhost:8002, a member), mia on a Mastodon-shaped fake
(localhost:9001) following the tribe. Two initiatives are used: bob's, hosted on B (A keeps
a copy because its tribe received the ``Create{Page}``), and alice's, hosted on A (B keeps a
copy because the tribe announced it). Covered here: partnership requests (``Join{Page}``)
and their answers (``Accept``/``Reject{Join}``), edits (``Update{Page}``) and deletion
(``Delete{Tombstone}``) of the Page, deletion of a task, and edits of comments
(``Update{Note}``) including forged edits by someone who is not the author. A copy kept
only from the tribe's announces hears of edits and deletions through the tribe's
``Announce{Update}`` / ``Announce{Delete}``; an edit by a partner on the other server is
applied by the origin.
"""

from __future__ import annotations

from typing import Any

from fakes import FakeActor
from harness import drain
from initiative_fed_helpers import AP_HEADERS, AS, BOB, PLEIN, PUBLIC, copy_state, setup_scenario
from sqlalchemy import select
from tribe_fed_helpers import deliver, remote
from tribe_helpers import login, make_person

from fedi.domain import conversation, initiative_board, initiative_people, initiatives
from fedi.domain.remote_tribes import ensure_remote_tribe
from models import (
    Actor,
    Comment,
    Initiative,
    InitiativePartner,
    InitiativeUpdate,
    Notification,
    Tribe,
)

ALICE = "http://localhost:8001/users/alice"
CAROL = "http://localhost:8001/users/carol"
DAVE = "http://localhost:8001/users/dave"


# ------------------------------------------------------------------ helpers


async def _actor(db: Any, ap_id: str) -> Actor:
    actor = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    assert actor is not None, ap_id
    return actor


async def _initiative(db: Any, page_id: str) -> Initiative:
    found = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
    assert found is not None, page_id
    return found


async def _bob_initiative(b: Any) -> tuple[str, str]:
    """Bob starts an initiative on B in the tribe on A, with one task: (page, ticket)."""
    async with b.state.db.session() as db:
        bob = await _actor(db, BOB)
        tribe = await ensure_remote_tribe(db, await _actor(db, PLEIN))
        initiative = await initiatives.create_initiative(
            db, b.state.settings, tribe, bob, name="Bankjes op het plein",
            summary="Zitplekken voor iedereen.", description="We zetten **bankjes** neer.",
            phase="plan",
        )
        task = await initiative_board.add_task(
            db, b.state.settings, initiative, bob, name="Bankjes timmeren"
        )
        return initiative.ap_id or "", task.ap_id or ""


async def _alice_initiative(a: Any) -> tuple[str, str]:
    """Alice starts an initiative on A in her own tribe, with one task: (page, ticket)."""
    async with a.state.db.session() as db:
        alice = await _actor(db, ALICE)
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, alice, name="Moestuin", summary="Samen tuinieren.",
            description="Een *moestuin* achter de school.", phase="idea",
        )
        task = await initiative_board.add_task(
            db, a.state.settings, initiative, alice, name="Spitten"
        )
        return initiative.ap_id or "", task.ap_id or ""


async def _partners(app: Any, page_id: str) -> list[tuple[str, str]]:
    """(actor id, state) of every partner row of the initiative on ``app``, sorted."""
    async with app.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        rows = (await db.scalars(
            select(InitiativePartner).where(InitiativePartner.initiative_id == initiative.id)
        )).unique().all()
        return sorted((row.actor.ap_id, row.state) for row in rows)


async def _history(app: Any, page_id: str) -> list[tuple[str, str | None]]:
    """(kind, actor id) of the initiative's history entries on ``app``, oldest first."""
    async with app.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        rows = (await db.scalars(
            select(InitiativeUpdate)
            .where(InitiativeUpdate.initiative_id == initiative.id)
            .order_by(InitiativeUpdate.id)
        )).unique().all()
        return [(row.kind, row.actor.ap_id if row.actor else None) for row in rows]


async def _notified(app: Any, ap_id: str) -> list[tuple[str, str | None]]:
    """(kind, by) of the notifications the local person ``ap_id`` has on ``app``."""
    async with app.state.db.session() as db:
        person = await _actor(db, ap_id)
        rows = (await db.scalars(
            select(Notification).where(Notification.recipient_id == person.id)
            .order_by(Notification.id)
        )).unique().all()
        return [(row.kind, row.actor.ap_id if row.actor else None) for row in rows]


async def _html(app: Any, path: str) -> str:
    response = await app.test_client().get(path)
    assert response.status_code == 200, (path, response.status_code)
    return await response.get_data(as_text=True)


def _announced(server: Any, kind: str, object_id: str) -> list[dict[str, Any]]:
    """The tribe's ``Announce{<kind>}`` about ``object_id`` that the fake server received."""
    return [
        d for d in server.received("Announce", kind)
        if d["actor"] == PLEIN and (
            d["object"]["object"] if isinstance(d["object"]["object"], str)
            else d["object"]["object"]["id"]
        ) == object_id
    ]


# ------------------------------------------------------------------ partnership


async def test_partnership_asked_on_a_and_answered_on_b(two_apps):
    """Carol and dave (on A) ask to partner bob's initiative (hosted on B); bob accepts
    carol and declines dave; a forged answer from a non-partner changes nothing. Both
    servers then agree on partners, history and notifications."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    await make_person(a, "dave")
    page_id, _task = await _bob_initiative(b)
    await drain(a, b)

    for who, message in ((CAROL, "Ik wil meebouwen"), (DAVE, "Ik ook")):
        async with a.state.db.session() as db:
            copy = await _initiative(db, page_id)
            await initiative_people.request_partnership(
                db, a.state.settings, copy, await _actor(db, who), message
            )
    await drain(a, b)

    # The requests reached the host, with their messages, and bob was told.
    expected = sorted([(BOB, "active"), (CAROL, "requested"), (DAVE, "requested")])
    assert await _partners(b, page_id) == expected
    assert await _partners(a, page_id) == expected
    async with b.state.db.session() as db:
        requests = await initiative_people.partner_requests(db, await _initiative(db, page_id))
        assert sorted((r.actor.ap_id, r.message) for r in requests) == [
            (CAROL, "Ik wil meebouwen"), (DAVE, "Ik ook")
        ]
    assert ("partner_requested", CAROL) in await _notified(b, BOB)
    assert ("partner_requested", DAVE) in await _notified(b, BOB)

    # Mia (not a partner) forges an acceptance of carol's Join: ignored everywhere.
    async with a.state.db.session() as db:
        join_id = (await db.scalar(
            select(InitiativePartner).join(Actor, Actor.id == InitiativePartner.actor_id)
            .where(Actor.ap_id == CAROL)
        )).activity_ap_id
    assert join_id
    forged = s.mia.activity("Accept", {"id": join_id, "type": "Join", "actor": CAROL,
                                       "object": page_id}, to=[CAROL, PLEIN])
    assert await deliver(a, s.mia, forged, "/users/carol/inbox") == 202
    assert await deliver(b, s.mia, forged, "/users/bob/inbox") == 202
    await drain(a, b)
    assert await _partners(a, page_id) == expected
    assert await _partners(b, page_id) == expected

    # Bob accepts carol and declines dave on B.
    async with b.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        bob = await _actor(db, BOB)
        await initiative_people.accept_partner(
            db, b.state.settings, initiative, bob, (await _actor(db, CAROL)).id
        )
        await initiative_people.decline_partner(
            db, b.state.settings, initiative, bob, (await _actor(db, DAVE)).id
        )
    await drain(a, b)

    agreed = sorted([(BOB, "active"), (CAROL, "active")])
    assert await _partners(b, page_id) == agreed
    assert await _partners(a, page_id) == agreed
    for app in (a, b):
        kinds = [k for k in await _history(app, page_id) if k[0].startswith("partner")]
        # The two requests may arrive in either order; the answer comes after both.
        assert sorted(kinds[:2]) == [("partner_requested", CAROL), ("partner_requested", DAVE)]
        assert kinds[2:] == [("partner_joined", CAROL)], app.state.settings.host
    # Carol hears on A that she was accepted; dave got no such notification.
    assert ("partner_joined", BOB) in await _notified(a, CAROL)
    assert [n for n in await _notified(a, DAVE) if n[0] == "partner_joined"] == []
    # Both initiative pages list carol among the partners (A's copy and B's original).
    async with a.state.db.session() as db:
        copy_number = (await _initiative(db, page_id)).id
    for app, number in ((a, copy_number), (b, 1)):
        html = await _html(app, f"/initiatives/{number}")
        assert "@carol@localhost:8001" in html
        assert "@dave@localhost:8001" not in html
    # The tribe announced the answers to its followers (FEP-1b12), but did not boost them.
    assert _announced(s.server, "Accept", join_id)
    assert [d for d in s.server.boosts() if d["object"] == join_id] == []


async def test_partnership_asked_on_b_and_answered_on_a(two_apps):
    """Bob (on B) asks to partner alice's initiative (hosted on A) through B's copy; alice
    accepts on A and B's copy shows him as a partner. Then a second request is declined."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _alice_initiative(a)
    await drain(a, b)
    assert (await copy_state(b, page_id))["name"] == "Moestuin"

    async with b.state.db.session() as db:
        copy = await _initiative(db, page_id)
        await initiative_people.request_partnership(
            db, b.state.settings, copy, await _actor(db, BOB), "Ik heb een schop"
        )
    await drain(a, b)
    assert await _partners(a, page_id) == [(ALICE, "active"), (BOB, "requested")]
    assert ("partner_requested", BOB) in await _notified(a, ALICE)
    # Alice sees the request with its message on her page.
    client = a.test_client()
    await login(client, "alice")
    response = await client.get("/initiatives/1")
    assert "Ik heb een schop" in await response.get_data(as_text=True)

    async with a.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        await initiative_people.accept_partner(
            db, a.state.settings, initiative, await _actor(db, ALICE),
            (await _actor(db, BOB)).id,
        )
    await drain(a, b)
    assert await _partners(a, page_id) == [(ALICE, "active"), (BOB, "active")]
    assert await _partners(b, page_id) == [(ALICE, "active"), (BOB, "active")]
    assert ("partner_joined", ALICE) in await _notified(b, BOB)
    assert ("partner_joined", BOB) in await _history(b, page_id)

    # Bob, now a partner, can change the board of alice's initiative from B.
    async with b.state.db.session() as db:
        copy = await _initiative(db, page_id)
        await initiative_board.add_task(
            db, b.state.settings, copy, await _actor(db, BOB), name="Zaaien"
        )
    await drain(a, b)
    assert [t[1] for t in (await copy_state(a, page_id))["tasks"]] == ["Spitten", "Zaaien"]

    # Carol is declined on A: bob's copy on B forgets her request too.
    async with a.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        await initiative_people.request_partnership(
            db, a.state.settings, initiative, await _actor(db, CAROL), "Mag ik?"
        )
    await drain(a, b)
    assert (CAROL, "requested") in await _partners(b, page_id)
    async with a.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        await initiative_people.decline_partner(
            db, a.state.settings, initiative, await _actor(db, ALICE),
            (await _actor(db, CAROL)).id,
        )
    await drain(a, b)
    assert await _partners(a, page_id) == [(ALICE, "active"), (BOB, "active")]
    assert await _partners(b, page_id) == [(ALICE, "active"), (BOB, "active")]


async def _make_bob_partner(a: Any, b: Any, page_id: str) -> None:
    """Bob asks from B to partner alice's initiative; alice accepts on A."""
    async with b.state.db.session() as db:
        await initiative_people.request_partnership(
            db, b.state.settings, await _initiative(db, page_id), await _actor(db, BOB)
        )
    await drain(a, b)
    async with a.state.db.session() as db:
        await initiative_people.accept_partner(
            db, a.state.settings, await _initiative(db, page_id), await _actor(db, ALICE),
            (await _actor(db, BOB)).id,
        )
    await drain(a, b)
    assert (BOB, "active") in await _partners(b, page_id)


async def test_partner_elsewhere_edits_the_page_and_a_task(two_apps):
    """Bob, a partner on B of alice's initiative (hosted on A), edits it and completes its
    task on B's copy: A (the origin) applies both, so both servers agree."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _alice_initiative(a)
    await drain(a, b)
    await _make_bob_partner(a, b, page_id)

    (task_number,) = (await copy_state(b, page_id))["task_ids"]
    async with b.state.db.session() as db:
        copy = await _initiative(db, page_id)
        bob = await _actor(db, BOB)
        await initiatives.update_initiative(
            db, b.state.settings, copy, bob, name="Moestuin met bob", summary="Met bob erbij.",
        )
        await initiative_board.complete_task(db, b.state.settings, copy, bob, task_number)
    await drain(a, b)
    for app in (a, b):
        state = await copy_state(app, page_id)
        assert state["name"] == "Moestuin met bob", app.state.settings.host
        assert state["tasks"] == [(task_id, "Spitten", True)], app.state.settings.host
    page = await (await a.test_client().get("/initiatives/1", headers=AP_HEADERS)).get_json()
    assert page["name"] == "Moestuin met bob" and page["summary"] == "Met bob erbij."
    assert ("edited", BOB) in await _history(a, page_id)


# ------------------------------------------------------------------ the Page


async def test_page_edit_on_the_host_reaches_the_tribe_and_its_followers(two_apps):
    """Bob edits his initiative on B: A's copy changes, the tribe announces the Update to
    mia, and archiving travels the same way."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _bob_initiative(b)
    await drain(a, b)

    async with b.state.db.session() as db:
        await initiatives.update_initiative(
            db, b.state.settings, await _initiative(db, page_id), await _actor(db, BOB),
            name="Bankjes en bloembakken", summary="Zitten tussen de bloemen.",
            description="Ook **bloembakken**.", phase="execute",
        )
    await drain(a, b)

    async with a.state.db.session() as db:
        copy = await _initiative(db, page_id)
        assert (copy.name, copy.summary, copy.description_source, copy.phase) == (
            "Bankjes en bloembakken", "Zitten tussen de bloemen.", "Ook **bloembakken**.",
            "execute",
        )
        assert "<strong>bloembakken</strong>" in copy.description_html
        copy_number = copy.id
    html = await _html(a, f"/initiatives/{copy_number}")
    assert "Bankjes en bloembakken" in html and "Zitten tussen de bloemen." in html
    kinds = [k for k, _by in await _history(a, page_id)]
    assert "phase_changed" in kinds and "edited" in kinds
    # The origin serves the new version; the tribe announced the Update to its followers.
    page = await (await b.test_client().get("/initiatives/1", headers=AP_HEADERS)).get_json()
    assert page["name"] == "Bankjes en bloembakken"
    (announce,) = _announced(s.server, "Update", page_id)
    assert announce["object"]["actor"] == BOB
    assert announce["object"]["object"]["name"] == "Bankjes en bloembakken"
    assert PUBLIC in announce["to"] or PUBLIC in announce.get("cc", [])

    async with b.state.db.session() as db:
        await initiatives.archive(
            db, b.state.settings, await _initiative(db, page_id), await _actor(db, BOB)
        )
    await drain(a, b)
    async with a.state.db.session() as db:
        assert (await _initiative(db, page_id)).archived_at is not None


async def test_page_edit_reaches_a_copy_kept_from_the_tribes_announce(two_apps):
    """Alice edits her initiative on A; B (which only follows the tribe) keeps its copy
    through the tribe's ``Announce{Update{Page}}``, confirmed at the origin."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _alice_initiative(a)
    await drain(a, b)
    assert (await copy_state(b, page_id))["name"] == "Moestuin"

    async with a.state.db.session() as db:
        await initiatives.update_initiative(
            db, a.state.settings, await _initiative(db, page_id), await _actor(db, ALICE),
            name="Moestuin en kas", summary="Ook een kas.", description="Met een **kas**.",
        )
    await drain(a, b)
    assert _announced(s.server, "Update", page_id)
    async with b.state.db.session() as db:
        copy = await _initiative(db, page_id)
        assert (copy.name, copy.summary, copy.description_source) == (
            "Moestuin en kas", "Ook een kas.", "Met een **kas**.",
        )
        copy_number = copy.id
    assert "Moestuin en kas" in await _html(b, f"/initiatives/{copy_number}")


async def test_page_deleted_on_the_host(two_apps):
    """Bob deletes his initiative on B: it answers 410 with a Tombstone there, A's copy is
    gone from the tribe, and the tribe announced the deletion."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _bob_initiative(b)
    await drain(a, b)
    async with a.state.db.session() as db:
        copy_number = (await _initiative(db, page_id)).id
    assert "Bankjes op het plein" in await _html(a, "/tribes/plein/initiatives")

    async with b.state.db.session() as db:
        await initiatives.delete_initiative(
            db, b.state.settings, await _initiative(db, page_id), await _actor(db, BOB)
        )
    await drain(a, b)

    gone = await b.test_client().get("/initiatives/1", headers=AP_HEADERS)
    assert gone.status_code == 410
    tombstone = await gone.get_json()
    assert tombstone["type"] == "Tombstone" and tombstone["id"] == page_id
    assert tombstone["formerType"] == "Page"
    assert (await copy_state(a, page_id))["deleted"] is True
    assert (await a.test_client().get(f"/initiatives/{copy_number}")).status_code == 410
    assert "Bankjes op het plein" not in await _html(a, "/tribes/plein/initiatives")
    (announce,) = _announced(s.server, "Delete", page_id)
    assert announce["object"]["actor"] == BOB
    # Its task is not served any more either.
    assert task_id.startswith("http://localhost:8002/")
    assert (await b.test_client().get(
        task_id.removeprefix("http://localhost:8002"), headers=AP_HEADERS
    )).status_code in (404, 410)


async def test_page_deleted_reaches_a_copy_kept_from_the_tribes_announce(two_apps):
    """Alice deletes her initiative on A; B's copy (kept from the tribe's announce) goes
    too, once A answers 410 for the Page."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _alice_initiative(a)
    await drain(a, b)
    async with a.state.db.session() as db:
        await initiatives.delete_initiative(
            db, a.state.settings, await _initiative(db, page_id), await _actor(db, ALICE)
        )
    await drain(a, b)
    assert (await a.test_client().get("/initiatives/1", headers=AP_HEADERS)).status_code == 410
    assert _announced(s.server, "Delete", page_id)
    assert (await copy_state(b, page_id))["deleted"] is True


async def test_forged_page_edit_and_delete_are_refused(two_apps):
    """Mia (no partner) sends an Update and a Delete of bob's Page to A: A refetches the
    Update's object from B and refuses both, so the copy stays as it was."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _bob_initiative(b)
    await drain(a, b)
    fake = {"id": page_id, "type": "Page", "name": "Gekaapt", "phase": "plan",
            "attributedTo": s.mia.id}
    update = s.mia.activity("Update", fake, to=[PLEIN, PUBLIC])
    delete = s.mia.activity("Delete", {"id": page_id, "type": "Tombstone"}, to=[PLEIN])
    for activity in (update, delete):
        assert await deliver(a, s.mia, activity, "/tribes/plein/inbox") == 202
    await drain(a, b)
    state = await copy_state(a, page_id)
    assert state["name"] == "Bankjes op het plein" and state["deleted"] is False


# ------------------------------------------------------------------ tasks


async def test_task_deleted_on_the_host_disappears_on_the_copy(two_apps):
    """Bob deletes his task on B: A's copy loses it (board and history)."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _bob_initiative(b)
    await drain(a, b)
    on_a = await copy_state(a, page_id)
    assert [t[0] for t in on_a["tasks"]] == [task_id]

    (task_number,) = (await copy_state(b, page_id))["task_ids"]
    async with b.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        await initiative_board.delete_task(
            db, b.state.settings, initiative, await _actor(db, BOB), task_number
        )
    await drain(a, b)
    assert (await copy_state(a, page_id))["tasks"] == []
    assert ("task_deleted", BOB) in await _history(a, page_id)
    assert "Bankjes timmeren" not in await _html(a, f"/initiatives/{on_a['id']}/board")
    assert (await a.test_client().get(
        f"/initiatives/{on_a['id']}/tasks/{on_a['task_ids'][0]}"
    )).status_code == 404
    assert _announced(s.server, "Delete", task_id)


async def test_task_deleted_reaches_a_copy_kept_from_the_tribes_announce(two_apps):
    """Alice deletes her task on A; B (no partner, only following the tribe) drops it too."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _alice_initiative(a)
    await drain(a, b)
    assert [t[0] for t in (await copy_state(b, page_id))["tasks"]] == [task_id]
    (task_number,) = (await copy_state(a, page_id))["task_ids"]
    async with a.state.db.session() as db:
        initiative = await _initiative(db, page_id)
        await initiative_board.delete_task(
            db, a.state.settings, initiative, await _actor(db, ALICE), task_number
        )
    await drain(a, b)
    assert (await copy_state(a, page_id))["tasks"] == []
    assert (await copy_state(b, page_id))["tasks"] == []


async def test_task_delete_by_a_non_partner_is_refused(two_apps):
    """A Delete of bob's task from mia (not a partner) leaves it on B."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _bob_initiative(b)
    await drain(a, b)
    delete = s.mia.activity("Delete", {"id": task_id, "type": "Tombstone"}, to=[BOB])
    assert await deliver(b, s.mia, delete, "/users/bob/inbox") == 202
    await drain(a, b)
    assert [t[0] for t in (await copy_state(b, page_id))["tasks"]] == [task_id]


# ------------------------------------------------------------------ comments


async def _comment_text(app: Any, comment_id: str) -> tuple[str, str]:
    async with app.state.db.session() as db:
        comment = await db.scalar(select(Comment).where(Comment.ap_id == comment_id))
        assert comment is not None, comment_id
        return comment.content_source, comment.content_html


async def test_comment_edit_reaches_the_other_instance(two_apps):
    """Carol comments on bob's initiative from A and edits it: B's copy shows the new
    text. An Update of her comment sent by mia is refused on both servers."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _bob_initiative(b)
    await drain(a, b)
    async with a.state.db.session() as db:
        copy = await _initiative(db, page_id)
        comment = await conversation.add_comment(
            db, a.state.settings, copy, await _actor(db, CAROL), "Waar komen ze te staan?"
        )
        comment_id, comment_number, copy_number = comment.ap_id or "", comment.id, copy.id
    await drain(a, b)
    assert (await _comment_text(b, comment_id))[0] == "Waar komen ze te staan?"

    async with a.state.db.session() as db:
        copy = await _initiative(db, page_id)
        await conversation.edit_comment(
            db, a.state.settings, copy, await _actor(db, CAROL), comment_number,
            "Waar komen de **bankjes** te staan?",
        )
    await drain(a, b)
    source, html = await _comment_text(b, comment_id)
    assert source == "Waar komen de **bankjes** te staan?"
    assert "<strong>bankjes</strong>" in html
    assert "Waar komen de <strong>bankjes</strong> te staan?" in await _html(b, "/initiatives/1")

    # Mia forges an edit of carol's comment, to B (the host) and to A (carol's server).
    forged_note = {"id": comment_id, "type": "Note", "attributedTo": CAROL,
                   "inReplyTo": page_id, "content": "<p>Gekaapt</p>"}
    forged = s.mia.activity("Update", forged_note, to=[PUBLIC])
    assert await deliver(b, s.mia, forged, "/users/bob/inbox") == 202
    assert await deliver(a, s.mia, forged, "/users/carol/inbox") == 202
    await drain(a, b)
    for app in (a, b):
        assert (await _comment_text(app, comment_id))[0] == (
            "Waar komen de **bankjes** te staan?"
        )
    assert "Gekaapt" not in await _html(a, f"/initiatives/{copy_number}")


async def test_mastodon_reply_edit_reaches_both_instances(two_apps):
    """Mia replies to bob's initiative (only to bob's inbox, as Mastodon does) and edits
    the reply: B applies the Update and hands it on to A, which refetches it from mia's
    server. Bob cannot edit mia's reply from his server either."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, _task = await _bob_initiative(b)
    await drain(a, b)
    path = "/users/mia/statuses/2001"
    note = {
        "id": s.mia.server.url(path), "type": "Note", "attributedTo": s.mia.id,
        "inReplyTo": page_id, "content": "<p>Leuk!</p>", "to": [PUBLIC],
        "cc": [s.mia.id + "/followers", BOB],
    }
    s.mia.server.docs[path] = {"@context": AS, **note}
    create = s.mia.activity("Create", note, to=note["to"], cc=note["cc"])
    assert await deliver(b, s.mia, create, "/users/bob/inbox") == 202
    await drain(a, b)
    assert "Leuk!" in (await _comment_text(a, note["id"]))[1]

    edited = {**note, "content": "<p>Leuk! Ik neem verf mee.</p>",
              "updated": "2025-05-01T11:00:00Z"}
    s.mia.server.docs[path] = {"@context": AS, **edited}
    update = s.mia.activity("Update", edited, to=note["to"], cc=note["cc"])
    assert await deliver(b, s.mia, update, "/users/bob/inbox") == 202
    await drain(a, b)
    for app in (a, b):
        source, html = await _comment_text(app, note["id"])
        assert "Ik neem verf mee." in source and "Ik neem verf mee." in html

    # Olga, on yet another server, sends an edit of mia's reply: B refetches the note from
    # mia's server (it is not olga's) and, olga not being its author, refuses it.
    _olga_server, olga = remote(two_apps.router, "localhost:9002", "olga")
    forged = olga.activity("Update", {**edited, "content": "<p>Gekaapt</p>"}, to=[PUBLIC])
    assert await deliver(b, olga, forged, "/users/bob/inbox") == 202
    await drain(a, b)
    for app in (a, b):
        assert "Gekaapt" not in (await _comment_text(app, note["id"]))[0]

    # Eve, on mia's own server, sends an edit of mia's reply with her version embedded.
    # Same host, so B takes the embedded Note as sent, and then refuses it: eve is not
    # the author of the reply.
    eve = FakeActor(s.mia.server, "/users/eve")
    forged = eve.activity("Update", {**edited, "content": "<p>Gekaapt</p>"}, to=[PUBLIC])
    assert await deliver(b, eve, forged, "/users/bob/inbox") == 202
    await drain(a, b)
    for app in (a, b):
        assert "Gekaapt" not in (await _comment_text(app, note["id"]))[0]
