"""A tribe as a FEP-1b12 Group, seen from a Mastodon-shaped server (the issue's "done when").

The remote server is a recording fake on the routing transport (``localhost:9001``) with a
real key pair; its activities have Mastodon's exact shapes: a Follow with a bare object id,
a post into the group as ``Create{Note}`` with the group in ``cc`` and a ``Mention`` tag, a
reply delivered only to the author of what it answers, Like, Undo{Follow}, and Flag.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import select
from tribe_fed_helpers import (
    AP_HEADERS,
    AS,
    PUBLIC,
    deliver,
    member_state,
    remote,
    reports,
    tribe_posts,
)
from tribe_helpers import login, make_person, make_tribe, post_form

from fedi.domain import notes, tribe_members
from models import Actor, ApObject, Follow, Tribe, TribeMember

A = "http://localhost:8001"
PLEIN = f"{A}/tribes/plein"
ALICE = f"{A}/users/alice"


def _no_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "@context"}


def _follow(actor: Any, target: str, suffix: str = "1") -> dict[str, Any]:
    # Mastodon's Follow: id on its host, bare object id, no addressing.
    return {
        "@context": AS,
        "id": f"{actor.server.url('/')}{suffix}ea87517-63c5-4118-8831-460ee641b2cf",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


async def _post_in_tribe(app: Any, username: str, slug: str, text: str) -> ApObject:
    """A local member posts in the tribe, as the web form does (note addressed to it)."""
    async with app.state.db.session() as db:
        author = await db.scalar(select(Actor).where(Actor.username == username,
                                                     Actor.local.is_(True)))
        group = await db.scalar(select(Actor).where(Actor.username == slug,
                                                    Actor.type == "Group"))
        return await notes.create_note(db, app.state, author, text, "public",
                                       recipients=[group])


def _mastodon_note(actor: Any, number: int, text: str, **fields: Any) -> dict[str, Any]:
    note_id = actor.server.url(f"/users/{actor.username}/statuses/10722428911641{number:04d}")
    doc = {
        "id": note_id,
        "type": "Note",
        "summary": None,
        "inReplyTo": None,
        "published": "2024-05-01T10:00:00Z",
        "url": actor.server.url(f"/@{actor.username}/10722428911641{number:04d}"),
        "attributedTo": actor.id,
        "to": [PUBLIC],
        "cc": [actor.id + "/followers"],
        "sensitive": False,
        "content": f"<p>{text}</p>",
        "tag": [],
    }
    doc.update(fields)
    return doc


def _create(actor: Any, note: dict[str, Any]) -> dict[str, Any]:
    create = actor.activity("Create", note, to=note["to"], cc=note["cc"],
                            published=note["published"])
    create["id"] = note["id"] + "/activity"
    return create


async def test_done_when_mastodon_follows_sees_announces_and_replies(two_apps):
    a, _b = two_apps
    server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    client = a.test_client()

    # WebFinger finds the tribe by its slug; the id serves the Group by content negotiation.
    response = await client.get("/.well-known/webfinger?resource=acct:plein@localhost:8001")
    jrd = await response.get_json()
    assert jrd["subject"] == "acct:plein@localhost:8001"
    assert {"rel": "self", "type": "application/activity+json", "href": PLEIN} in jrd["links"]
    response = await client.get("/tribes/plein", headers=AP_HEADERS)
    group = await response.get_json()
    assert group["type"] == "Group" and group["id"] == PLEIN
    assert group["inbox"] == f"{PLEIN}/inbox"
    assert group["attributedTo"] == f"{PLEIN}/moderators"
    assert group["manuallyApprovesFollowers"] is False
    assert (await client.get("/tribes/plein")).headers["Vary"] == "Accept"

    follow = _follow(fiona, PLEIN)
    assert await deliver(a, fiona, follow, "/tribes/plein/inbox") == 202
    await drain(a)
    (accept,) = server.received("Accept")
    assert accept["actor"] == PLEIN and accept["object"] == _no_context(follow)
    assert await member_state(a, "plein", fiona.id) == "active"

    note = await _post_in_tribe(a, "alice", "plein", "Zullen we bankjes op het plein zetten?")
    await drain(a)
    (wrapped,) = server.received("Announce", "Create")
    assert wrapped["actor"] == PLEIN
    assert wrapped["object"]["object"]["id"] == note.ap_id
    assert wrapped["object"]["actor"] == ALICE  # unchanged member activity
    (boost,) = server.boosts()
    assert boost["object"] == note.ap_id and PUBLIC in boost["to"]
    # Mastodon can show the boost: the object is fetchable as a Note.
    path = note.ap_id.removeprefix(A)
    shown = await (await client.get(path, headers=AP_HEADERS)).get_json()
    assert shown["type"] == "Note" and PLEIN in shown["cc"]

    # Fiona replies; Mastodon delivers the reply only to the author she answers.
    reply = _mastodon_note(
        fiona, 1, "Ja, graag bij de fontein!", inReplyTo=note.ap_id,
        to=[fiona.id + "/followers"], cc=[PUBLIC, ALICE],
        tag=[{"type": "Mention", "href": ALICE, "name": "@alice@localhost:8001"}],
    )
    assert await deliver(a, fiona, _create(fiona, reply), "/users/alice/inbox") == 202
    await drain(a)
    assert await tribe_posts(a, "plein") == [
        (note.ap_id, False, "active"), (reply["id"], True, "active")
    ]
    wrapped_ids = [d["object"]["object"]["id"] for d in server.received("Announce", "Create")]
    assert wrapped_ids == [note.ap_id, reply["id"]]
    assert len(server.boosts()) == 1  # replies are never boosted

    # The reply appears in the thread, on the tribe's activity page.
    page = await (await client.get("/tribes/plein/activity")).get_data(as_text=True)
    assert "bankjes op het plein" in page and "bij de fontein" in page
    assert page.index("bankjes op het plein") < page.index("bij de fontein")

    # The outbox lists every announce, newest first.
    outbox = await (await client.get("/tribes/plein/outbox?page=1", headers=AP_HEADERS)).get_json()
    assert outbox["orderedItems"][0]["object"]["object"]["id"] == reply["id"]
    assert len(outbox["orderedItems"]) == 3

    # A like of the tribe post is announced; Undo{Follow} makes her leave.
    like = fiona.activity("Like", note.ap_id)
    assert await deliver(a, fiona, like, "/tribes/plein/inbox") == 202
    await drain(a)
    assert [d["object"]["id"] for d in server.received("Announce", "Like")] == [like["id"]]
    undo = fiona.activity("Undo", _no_context(follow))
    assert await deliver(a, fiona, undo) == 202
    await drain(a)
    assert await member_state(a, "plein", fiona.id) is None
    async with a.state.db.session() as db:
        group_actor = await db.scalar(select(Actor).where(Actor.ap_id == PLEIN))
        fiona_actor = await db.scalar(select(Actor).where(Actor.ap_id == fiona.id))
        assert await db.scalar(
            select(Follow).where(Follow.followed_id == group_actor.id,
                                 Follow.follower_id == fiona_actor.id)
        ) is None


async def test_approval_tribe_admin_approves_or_rejects_in_the_web(two_apps):
    a, _b = two_apps
    server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    _server2, gert = remote(two_apps.router, "localhost:9002", "gert")
    await make_person(a, "alice")
    await make_tribe(a, "zorg", "alice", join_mode="approval")
    group = await (await a.test_client().get("/tribes/zorg", headers=AP_HEADERS)).get_json()
    assert group["manuallyApprovesFollowers"] is True

    follow = _follow(fiona, f"{A}/tribes/zorg")
    follow_gert = _follow(gert, f"{A}/tribes/zorg", "2")
    assert await deliver(a, fiona, follow, "/tribes/zorg/inbox") == 202
    assert await deliver(a, gert, follow_gert, "/tribes/zorg/inbox") == 202
    await drain(a)
    assert await member_state(a, "zorg", fiona.id) == "pending"
    assert server.received("Accept") == []

    async with a.state.db.session() as db:
        rows = {
            m.actor.ap_id: m.id
            for m in (await db.scalars(select(TribeMember))).unique().all()
        }
    client = a.test_client()
    await login(client, "alice")
    members_page = "/tribes/zorg/members"
    response = await post_form(
        client, f"/tribes/zorg/members/{rows[fiona.id]}/approve", {}, page=members_page
    )
    assert response.status_code == 303
    response = await post_form(
        client, f"/tribes/zorg/members/{rows[gert.id]}/reject", {}, page=members_page
    )
    assert response.status_code == 303
    await drain(a)
    (accept,) = server.received("Accept")
    assert accept["object"]["id"] == follow["id"] and accept["object"]["type"] == "Follow"
    assert await member_state(a, "zorg", fiona.id) == "active"
    (reject,) = _server2.received("Reject")
    assert reject["object"]["id"] == follow_gert["id"]
    assert await member_state(a, "zorg", gert.id) is None

    # Changing the tribe sends Update{Group} to its followers.
    from fedi.domain import tribes

    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "zorg"))
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        await tribes.update_tribe(db, a.state.settings, tribe, alice, name="Zorginkoop")
    await drain(a)
    (update,) = server.received("Update")
    assert update["object"]["type"] == "Group" and update["object"]["name"] == "Zorginkoop"


async def test_invite_only_rejects_strangers_and_accepts_the_invited(two_apps):
    a, _b = two_apps
    server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    await make_person(a, "alice")
    await make_tribe(a, "eiland", "alice", join_mode="invite")
    follow = _follow(fiona, f"{A}/tribes/eiland")
    assert await deliver(a, fiona, follow, "/tribes/eiland/inbox") == 202
    await drain(a)
    (reject,) = server.received("Reject")
    assert reject["object"]["id"] == follow["id"]
    assert await member_state(a, "eiland", fiona.id) is None

    from tribe_helpers import actor_named

    from fedi.domain import tribe_invites

    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "eiland"))
        alice = await actor_named(db, "alice")
        fiona_actor = await db.scalar(select(Actor).where(Actor.ap_id == fiona.id))
        await tribe_invites.invite_actor(db, a.state.settings, tribe, alice, fiona_actor)
    await drain(a)
    (invite,) = server.received("Invite")
    assert invite["object"] == f"{A}/tribes/eiland" and invite["target"] == fiona.id

    again = _follow(fiona, f"{A}/tribes/eiland", "3")
    assert await deliver(a, fiona, again, "/tribes/eiland/inbox") == 202
    await drain(a)
    (accept,) = server.received("Accept")
    assert accept["object"]["id"] == again["id"]
    assert await member_state(a, "eiland", fiona.id) == "active"


async def test_moderation_removes_posts_everywhere_and_handles_reports_and_roles(two_apps):
    a, _b = two_apps
    server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    assert await deliver(a, fiona, _follow(fiona, PLEIN), "/tribes/plein/inbox") == 202
    await drain(a)

    # Fiona posts into the tribe the Mastodon way: the group in cc plus a Mention tag.
    post = _mastodon_note(
        fiona, 2, "@plein wie helpt zaterdag met opruimen?",
        cc=[fiona.id + "/followers", PLEIN],
        tag=[{"type": "Mention", "href": PLEIN, "name": "@plein@localhost:8001"}],
    )
    assert await deliver(a, fiona, _create(fiona, post), "/tribes/plein/inbox") == 202
    await drain(a)
    # A local post becomes a tribe post in its own transaction (no inbox round trip).
    own = await _post_in_tribe(a, "alice", "plein", "Vergadering om acht uur")
    assert [p[0] for p in await tribe_posts(a, "plein")] == [post["id"], own.ap_id]
    await drain(a)
    assert {b["object"] for b in server.boosts()} == {post["id"], own.ap_id}

    # A remote report (Mastodon sends Flag from its instance actor).
    from fakes import FakeActor

    instance = FakeActor(server, "/actor", username="localhost")
    flag = {
        "@context": AS, "id": server.url("/ccb4f39a-506a-490e-9a8c-71831c7713a4"),
        "type": "Flag", "actor": instance.id,
        "content": "Dit is reclame", "object": [fiona.id, post["id"]], "to": PLEIN,
    }
    assert await deliver(a, instance, flag) == 202
    await drain(a)
    (report,) = await reports(a)
    assert report.comment == "Dit is reclame" and post["id"] in report.target_ap_ids
    assert report.tribe_id is not None

    # Alice removes both posts from the web: Remove for Fiona's, Delete for her own, and
    # Undo{Announce} of every announce, so they leave Mastodon timelines.
    client = a.test_client()
    await login(client, "alice")
    # A local report from the form under the post.
    response = await post_form(
        client, "/tribes/plein/posts/report", {"object": post["id"], "comment": "spam"},
        page="/tribes/plein/activity",
    )
    assert response.status_code == 303
    assert sorted(r.comment for r in await reports(a)) == ["Dit is reclame", "spam"]
    for object_id in (post["id"], own.ap_id):
        response = await post_form(
            client, "/tribes/plein/posts/remove", {"object": object_id},
            page="/tribes/plein/activity",
        )
        assert response.status_code == 303
    await drain(a)
    (remove,) = server.received("Remove")
    assert remove["object"] == post["id"] and remove["target"] == f"{PLEIN}/outbox"
    deletes = [d for d in server.received("Announce", "Delete")]
    assert [d["object"]["object"]["id"] for d in deletes] == [own.ap_id]
    undone = [u["object"] for u in server.received("Undo")]
    assert {u["object"] if isinstance(u["object"], str) else u["object"]["object"]["id"]
            for u in undone} == {post["id"], own.ap_id}
    assert len(undone) == 4  # two posts, each announced wrapped and boosted
    assert [p[2] for p in await tribe_posts(a, "plein")] == ["removed", "removed"]
    outbox = await (await client.get("/tribes/plein/outbox", headers=AP_HEADERS)).get_json()
    assert outbox["totalItems"] == 1  # only the announce of the Delete is left

    # Roles: making Fiona core team sends Add on the moderators collection, announced.
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        fiona_actor = await db.scalar(select(Actor).where(Actor.ap_id == fiona.id))
        await tribe_members.set_role(db, a.state.settings, tribe, alice, fiona_actor, "moderator")
    await drain(a)
    mods = await (await client.get("/tribes/plein/moderators", headers=AP_HEADERS)).get_json()
    assert set(mods["orderedItems"]) == {ALICE, fiona.id}
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        fiona_actor = await db.scalar(select(Actor).where(Actor.ap_id == fiona.id))
        await tribe_members.set_role(db, a.state.settings, tribe, alice, fiona_actor, "member")
    await drain(a)
    (add,) = server.received("Announce", "Add")
    assert add["object"]["object"] == fiona.id
    assert add["object"]["target"] == f"{PLEIN}/moderators"
    (removed,) = server.received("Announce", "Remove")
    assert removed["object"]["object"] == fiona.id


async def test_non_member_post_in_closed_tribe_is_held_then_distributed(two_apps):
    a, _b = two_apps
    server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    _other, gert = remote(two_apps.router, "localhost:9002", "gert")
    await make_person(a, "alice")
    await make_tribe(a, "zorg", "alice", join_mode="approval")
    follow = _follow(fiona, f"{A}/tribes/zorg")
    assert await deliver(a, fiona, follow, "/tribes/zorg/inbox") == 202
    await drain(a)
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "zorg"))
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        fiona_actor = await db.scalar(select(Actor).where(Actor.ap_id == fiona.id))
        await tribe_members.approve_request(db, a.state.settings, tribe, alice, fiona_actor)
    await drain(a)

    zorg = f"{A}/tribes/zorg"
    post = _mastodon_note(
        gert, 3, "@zorg kan ik meedoen met de inkoop?", cc=[gert.id + "/followers", zorg],
        tag=[{"type": "Mention", "href": zorg, "name": "@zorg@localhost:8001"}],
    )
    assert await deliver(a, gert, _create(gert, post), "/tribes/zorg/inbox") == 202
    await drain(a)
    assert server.received("Announce", "Create") == []
    client = a.test_client()
    await login(client, "alice")
    page = await (await client.get("/tribes/zorg/moderation")).get_data(as_text=True)
    assert "kan ik meedoen" in page or "localhost:9002" in page
    from tribe_fed_helpers import held_posts

    (held,) = await held_posts(a)
    response = await post_form(
        client, f"/tribes/zorg/moderation/held/{held.id}", {"decision": "approve"},
        page="/tribes/zorg/moderation",
    )
    assert response.status_code == 303
    await drain(a)
    (wrapped,) = server.received("Announce", "Create")
    assert wrapped["object"]["object"]["id"] == post["id"]
    assert [b["object"] for b in server.boosts()] == [post["id"]]
