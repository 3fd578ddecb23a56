"""The issue's scenario in-process: an initiative started on B in a tribe on A, an offer from
A accepted on B, a completed task, and a Mastodon follower of the tribe who sees the boost,
replies (to the author only) and favourites it; both instances then agree everywhere."""

from __future__ import annotations

from typing import Any

from harness import drain
from initiative_fed_helpers import AP_HEADERS, AS, BOB, PLEIN, PUBLIC, copy_state, setup_scenario
from sqlalchemy import select
from tribe_fed_helpers import deliver

from fedi.domain import contributions, initiative_board, initiatives
from fedi.domain.remote_tribes import ensure_remote_tribe
from models import Actor, Contribution, Initiative

PAGE = "http://localhost:8002/initiatives/1"


async def _actor(db: Any, ap_id: str) -> Actor:
    actor = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    assert actor is not None
    return actor


async def _start_initiative(b: Any) -> tuple[str, str]:
    """Bob starts an initiative in the remote tribe with one task; returns (page, task)."""
    async with b.state.db.session() as db:
        bob = await _actor(db, BOB)
        tribe = await ensure_remote_tribe(db, await _actor(db, PLEIN))
        initiative = await initiatives.create_initiative(
            db, b.state.settings, tribe, bob, name="Bankjes op het plein",
            summary="Zitplekken voor iedereen op het plein.",
            description="We zetten **bankjes** neer bij de fontein.", phase="plan",
            tags="timmeren",
        )
        task = await initiative_board.add_task(
            db, b.state.settings, initiative, bob, name="Bankjes timmeren", tags="timmeren"
        )
        return initiative.ap_id or "", task.ap_id or ""


async def test_initiative_across_instances_and_mastodon(two_apps):
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    page_id, task_id = await _start_initiative(b)
    assert page_id == PAGE
    await drain(a, b)

    # A (the tribe's server) keeps a copy in its tribe and announced it (FEP-1b12).
    on_a = await copy_state(a, PAGE)
    assert on_a["tribe"] == PLEIN and not on_a["local"]
    assert on_a["tasks"] == [(task_id, "Bankjes timmeren", False)]
    wrapped = [d for d in s.server.received("Announce", "Create")
               if d["object"]["object"]["id"] == PAGE]
    assert wrapped and wrapped[0]["actor"] == PLEIN and wrapped[0]["object"]["actor"] == BOB
    # ... and boosted the bare id, which Mastodon shows; the Page has name, summary, url.
    (boost,) = [d for d in s.server.boosts() if d["object"] == PAGE]
    assert boost["actor"] == PLEIN and PUBLIC in boost["to"]
    page = await (await b.test_client().get("/initiatives/1", headers=AP_HEADERS)).get_json()
    assert page["type"] == "Page" and page["name"] == "Bankjes op het plein"
    assert page["summary"] == "Zitplekken voor iedereen op het plein."
    assert page["url"] == PAGE and page["attributedTo"] == BOB
    assert page["audience"] == PLEIN and PLEIN in page["to"] and PUBLIC in page["to"]
    # Tasks are not boosted (no comment floods on Mastodon).
    assert [d for d in s.server.boosts() if d["object"] == task_id] == []

    # Carol on A offers 4 hours; the Offer reaches the host (B).
    async with a.state.db.session() as db:
        carol = await _actor(db, "http://localhost:8001/users/carol")
        copy = await db.get(Initiative, on_a["id"])
        await contributions.offer(
            db, a.state.settings, copy, carol, on_a["task_ids"][0], hours=4,
            motivation="Ik ben timmerman",
        )
    await drain(a, b)
    on_b = await copy_state(b, PAGE)
    assert [(o[1], o[2], o[3]) for o in on_b["offers"]] == [
        ("http://localhost:8001/users/carol", 4, "proposed")
    ]

    # Bob (a partner, on B) accepts; carol becomes a partner on both servers.
    async with b.state.db.session() as db:
        bob = await _actor(db, BOB)
        offer = await db.scalar(select(Contribution))
        initiative = await db.get(Initiative, on_b["id"])
        await contributions.decide(db, b.state.settings, initiative, bob, offer.id, accept=True)
        await initiative_board.complete_task(
            db, b.state.settings, initiative, bob, on_b["task_ids"][0]
        )
    await drain(a, b)
    on_a = await copy_state(a, PAGE)
    assert [o[3] for o in on_a["offers"]] == ["accepted"]
    assert on_a["tasks"] == [(task_id, "Bankjes timmeren", True)]

    # Mia (Mastodon) replies: delivered only to the author's inbox on B. Her server serves
    # the note, so A can confirm it at its origin when B hands it on.
    reply_path = "/users/mia/statuses/1001"
    reply = {
        "id": s.mia.server.url(reply_path), "type": "Note", "attributedTo": s.mia.id,
        "inReplyTo": PAGE, "content": "<p>Mooi plan! Ik help mee schilderen.</p>",
        "to": [PUBLIC], "cc": [s.mia.id + "/followers", BOB],
        "published": "2025-05-01T10:00:00Z",
        "tag": [{"type": "Mention", "href": BOB, "name": "@bob@localhost:8002"}],
    }
    s.mia.server.docs[reply_path] = {"@context": AS, **reply}
    create = s.mia.activity("Create", reply, to=reply["to"], cc=reply["cc"])
    assert await deliver(b, s.mia, create, "/users/bob/inbox") == 202
    like = s.mia.activity("Like", PAGE)
    assert await deliver(b, s.mia, like, "/users/bob/inbox") == 202
    await drain(a, b)

    on_a, on_b = await copy_state(a, PAGE), await copy_state(b, PAGE)
    for key in ("tasks", "offers", "comments", "supporters", "name"):
        assert on_a[key] == on_b[key], key
    assert on_b["comments"] == [(reply["id"], s.mia.id, PAGE)]
    assert on_b["supporters"] == [s.mia.id]

    # Every page agrees: the initiative pages show the reply and the supporter, the task
    # pages the accepted contribution.
    for app, number in ((a, on_a["id"]), (b, on_b["id"])):
        client = app.test_client()
        html = await (await client.get(f"/initiatives/{number}")).get_data(as_text=True)
        assert "Mooi plan! Ik help mee schilderen." in html
        assert "@mia@localhost:9001" in html  # the supporter
        assert "@carol@localhost:8001" in html  # the accepted contributor, now a partner
        task_number = (await copy_state(app, PAGE))["task_ids"][0]
        task_html = await (
            await client.get(f"/initiatives/{number}/tasks/{task_number}")
        ).get_data(as_text=True)
        assert "Ik ben timmerman" in task_html

    # The collections agree: B's replies and likes, and A's copy's.
    client_b, client_a = b.test_client(), a.test_client()
    replies = await (await client_b.get("/initiatives/1/replies?page=1",
                                        headers=AP_HEADERS)).get_json()
    assert reply["id"] in [i if isinstance(i, str) else i["id"] for i in replies["orderedItems"]]
    likes_b = await (await client_b.get("/initiatives/1/likes", headers=AP_HEADERS)).get_json()
    assert likes_b["totalItems"] == len(on_a["supporters"]) == 1
    # A's copy is no origin: its collection's JSON redirects to the original's.
    copy_likes = await client_a.get(f"/initiatives/{on_a['id']}/likes", headers=AP_HEADERS)
    assert copy_likes.status_code == 302
    assert copy_likes.headers["Location"] == f"{PAGE}/likes"
    # The tribe's outbox lists the Create of the Page it announced and its boost.
    outbox = await (await client_a.get("/tribes/plein/outbox?page=1",
                                       headers=AP_HEADERS)).get_json()
    objects = [item.get("object") for item in outbox["orderedItems"]]
    assert PAGE in objects
    assert any(isinstance(o, dict) and o.get("type") == "Create"
               and o["object"]["id"] == PAGE for o in objects)

    # Mia takes her favourite back: she is no longer a supporter anywhere.
    undo = s.mia.activity("Undo", {k: v for k, v in like.items() if k != "@context"})
    assert await deliver(b, s.mia, undo, "/users/bob/inbox") == 202
    await drain(a, b)
    assert (await copy_state(b, PAGE))["supporters"] == []
    assert (await copy_state(a, PAGE))["supporters"] == []


async def test_namespace_document_serves_our_terms(two_apps):
    a, _b = two_apps
    response = await a.test_client().get("/ns")
    assert response.status_code == 200
    terms = (await response.get_json())["@context"]
    for term in ("phase", "lane", "isResolved", "hours", "motivation", "isUpdate", "budget"):
        assert term in terms


async def test_announced_initiative_is_kept_and_people_there_take_part(two_apps):
    """An initiative of A's tribe reaches B through the tribe's Announce; B keeps a copy in
    a remote tribe row, and bob offers from B: the Offer is applied on A (the host)."""
    s = await setup_scenario(two_apps)
    a, b = s.a, s.b
    async with a.state.db.session() as db:
        alice = await _actor(db, "http://localhost:8001/users/alice")
        from models import Tribe

        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, alice, name="Moestuin", summary="Samen tuinieren"
        )
        await initiative_board.add_task(db, a.state.settings, initiative, alice, name="Spitten")
        page_id = initiative.ap_id or ""
    await drain(a, b)
    on_b = await copy_state(b, page_id)
    assert on_b and not on_b["local"] and on_b["tribe"] == PLEIN and on_b["name"] == "Moestuin"
    # B lists no remote tribe among its own tribes.
    async with b.state.db.session() as db:
        from fedi.domain import tribes

        assert await tribes.list_tribes(db) == []

    # The task came too (the tribe's Announce{Create{Ticket}}, confirmed at its origin).
    assert [t[1] for t in on_b["tasks"]] == ["Spitten"]

    # Bob offers from B and supports it; both reach the host (A), which applies them.
    async with b.state.db.session() as db:
        bob = await _actor(db, BOB)
        copy = await db.get(Initiative, on_b["id"])
        await contributions.offer(
            db, b.state.settings, copy, bob, on_b["task_ids"][0], hours=2, motivation="Graag"
        )
        from fedi.domain import initiative_people

        await initiative_people.support(db, b.state.settings, copy, bob)
    await drain(a, b)
    on_a = await copy_state(a, page_id)
    assert [(o[1], o[3]) for o in on_a["offers"]] == [(BOB, "proposed")]
    assert on_a["supporters"] == [BOB]
    # Alice accepts on A; bob's copy on B follows.
    async with a.state.db.session() as db:
        alice = await _actor(db, "http://localhost:8001/users/alice")
        offer = await db.scalar(select(Contribution))
        await contributions.decide(
            db, a.state.settings, await db.get(Initiative, on_a["id"]), alice, offer.id,
            accept=True,
        )
    await drain(a, b)
    assert [o[3] for o in (await copy_state(b, page_id))["offers"]] == ["accepted"]
