"""Every kind of notification of issue 12 is created by the event it is about (local side).

The events from another server (follows, mentions, replies, likes, boosts) are in
``test_notify_remote.py``; mails in ``test_notify_mail.py``.
"""

from __future__ import annotations

from datetime import timedelta

from fedi.domain import (
    contributions,
    follows,
    notes,
    reactions,
    tribe_invites,
    tribe_members,
    tribe_moderation,
    tribes,
)
from fedi.domain.initiative_access import get_initiative
from fedi.domain.notify_tasks import notify_due_tasks
from fedi.state import FediApp
from models import HeldPost, utcnow
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.notifications.notify_helpers import kinds_of, notes_of
from tests.tribe_helpers import actor_named, make_person, make_tribe


async def test_join_requests_reach_the_staff_and_answers_the_requester(app: FediApp) -> None:
    settings = app.state.settings
    for name in ("ann", "bob", "cas", "mo"):
        await make_person(app, name)
    await make_tribe(app, "buurt", "ann", join_mode="approval", name="De Buurt")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        ann, mo = await actor_named(db, "ann"), await actor_named(db, "mo")
        await tribe_invites.invite_actor(db, settings, tribe, ann, mo)
        await tribe_members.join(db, settings, tribe, mo)
        await tribe_members.set_role(db, settings, tribe, ann, mo, "moderator")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        await tribe_members.join(db, settings, tribe, await actor_named(db, "bob"))
        await tribe_members.join(db, settings, tribe, await actor_named(db, "cas"))
    # The admin and the moderator are asked, once per request.
    assert (await kinds_of(app, "ann")).count("tribe_join_requested") == 2
    assert (await kinds_of(app, "mo")).count("tribe_join_requested") == 2
    [asked] = [n for n in await notes_of(app, "ann", "tribe_join_requested")][:1]
    assert asked.payload["tribe"] == "De Buurt" and asked.payload["slug"] == "buurt"
    assert asked.email_pending  # e-mail at once is on by default for join requests
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        ann = await actor_named(db, "ann")
        await tribe_members.approve_request(db, settings, tribe, ann, await actor_named(db, "bob"))
        await tribe_members.reject_request(db, settings, tribe, ann, await actor_named(db, "cas"))
    assert "tribe_join_approved" in await kinds_of(app, "bob")
    assert "tribe_join_rejected" in await kinds_of(app, "cas")
    [approved] = await notes_of(app, "bob", "tribe_join_approved")
    async with app.state.db.session() as db:
        assert approved.actor_id == (await actor_named(db, "ann")).id


async def test_invitations_and_new_members(app: FediApp) -> None:
    settings = app.state.settings
    for name in ("ann", "bob", "cas"):
        await make_person(app, name)
    await make_tribe(app, "plein", "ann")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        ann, bob = await actor_named(db, "ann"), await actor_named(db, "bob")
        await tribe_invites.invite_actor(db, settings, tribe, ann, bob)
    assert await kinds_of(app, "bob") == ["tribe_invited"]
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribe_members.join(db, settings, tribe, await actor_named(db, "bob"))
        await tribe_members.join(db, settings, tribe, await actor_named(db, "cas"))
    assert (await kinds_of(app, "ann")).count("tribe_member_joined") == 2
    # Nobody is told about their own joining.
    assert "tribe_member_joined" not in await kinds_of(app, "cas")


async def test_moderation_decisions_reach_the_person_concerned(app: FediApp) -> None:
    settings = app.state.settings
    for name in ("ann", "bob", "cas", "dirk"):
        await make_person(app, name)
    await make_tribe(app, "plein", "ann")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        for name in ("bob", "cas", "dirk"):
            await tribe_members.join(db, settings, tribe, await actor_named(db, name))
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        ann = await actor_named(db, "ann")
        await tribe_members.set_role(db, settings, tribe, ann, await actor_named(db, "bob"),
                                     "moderator")
        await tribe_members.remove_member(db, settings, tribe, ann, await actor_named(db, "cas"))
        await tribe_moderation.block_actor(db, settings, tribe, ann, await actor_named(db, "dirk"))
        dirk = await actor_named(db, "dirk")
        held = HeldPost(tribe_id=tribe.id, actor_id=dirk.id,
                        activity_ap_id="http://localhost:8000/x/1", payload={})
        db.add(held)
        await db.flush()
        await tribe_moderation.decide_held_post(db, settings, tribe, ann, held.id, False)
    [role] = await notes_of(app, "bob", "role_changed")
    assert role.payload["role"] == "moderator"
    assert "member_removed" in await kinds_of(app, "cas")
    dirk_kinds = await kinds_of(app, "dirk")
    # Blocking removes the membership too; only the block is told.
    assert "tribe_blocked" in dirk_kinds and "member_removed" not in dirk_kinds
    assert "post_removed" in dirk_kinds


async def test_reports_reach_the_moderators_or_the_instance_admins(app: FediApp) -> None:
    settings = app.state.settings
    await make_person(app, "ann")
    await make_person(app, "bob")
    await make_person(app, "beheer", is_admin=True)
    await make_tribe(app, "plein", "ann")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        bob = await actor_named(db, "bob")
        await tribe_moderation.file_report(
            db, settings, bob, target_ap_ids=["http://localhost:8000/users/ann"],
            comment="Niet aardig", tribe=tribe,
        )
        await tribe_moderation.file_report(
            db, settings, bob, target_ap_ids=["http://spam.example/users/x"], comment="spam",
        )
    [in_tribe] = await notes_of(app, "ann", "report")
    assert in_tribe.payload["comment"] == "Niet aardig" and in_tribe.email_pending
    [instance] = await notes_of(app, "beheer", "report")
    assert instance.payload["comment"] == "spam"


async def test_follows_mentions_replies_likes_and_boosts_here(app: FediApp) -> None:
    state = app.state
    for name in ("ann", "bob", "cas", "dirk"):
        await make_person(app, name)
    async with state.db.session() as db:
        dirk = await actor_named(db, "dirk")
        dirk.manually_approves_followers = True
    async with state.db.session() as db:
        bob = await actor_named(db, "bob")
        await follows.follow(db, state, bob, await actor_named(db, "ann"))
        await follows.follow(db, state, bob, await actor_named(db, "dirk"))
    assert await kinds_of(app, "ann") == ["follow"]
    assert await kinds_of(app, "dirk") == ["follow_request"]

    async with state.db.session() as db:
        note = await notes.create_note(db, state, await actor_named(db, "ann"), "Wie helpt?")
        ann_note = note.ap_id
    async with state.db.session() as db:
        bob = await actor_named(db, "bob")
        await notes.create_note(db, state, bob, "Ik! @ann en @cas ook", in_reply_to=ann_note)
        await reactions.like(db, state, bob, ann_note)
        await reactions.announce(db, state, bob, ann_note)
    kinds = await kinds_of(app, "ann")
    # The author of the post replied to hears "reply", not also "mention".
    assert kinds.count("reply") == 1 and "mention" not in kinds
    assert kinds.count("like") == 1 and kinds.count("boost") == 1
    assert await kinds_of(app, "cas") == ["mention"]
    [like] = await notes_of(app, "ann", "like")
    assert like.payload["excerpt"] == "Wie helpt?" and not like.email_pending  # digest kind
    [reply] = await notes_of(app, "ann", "reply")
    assert reply.email_pending


async def test_contributions_answers_and_tasks_due(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    tomorrow = (utcnow() + timedelta(days=1)).date()
    task = await make_task(app, item, due_date=tomorrow)
    settings = app.state.settings
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        offer = await contributions.offer(
            db, settings, initiative, await actor_named(db, "bob"), task.id, hours=3,
        )
    assert "contribution_offered" in await kinds_of(app, "ann")
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        await contributions.decide(
            db, settings, initiative, await actor_named(db, "ann"), offer.id, accept=True
        )
    assert "contribution_accepted" in await kinds_of(app, "bob")
    async with app.state.db.session() as db:
        assert await notify_due_tasks(db, utcnow()) == 1
    async with app.state.db.session() as db:
        assert await notify_due_tasks(db, utcnow()) == 0  # once per task and due date
        assert await notify_due_tasks(db, utcnow() + timedelta(days=3)) == 0
    [due] = await notes_of(app, "bob", "task_due")
    assert due.payload["task_id"] == task.id and due.initiative_id == item.id
