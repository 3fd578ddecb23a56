"""Instance-wide domain blocks: what a block refuses, cancels and severs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fedi.domain import domain_blocks
from fedi.domain.errors import Conflict, NotFound, ServiceError
from fedi.state import FediApp
from models import Actor, Delivery, DomainBlock, Follow, OutboxActivity


def remote_actor(name: str, host: str) -> Actor:
    """A remote person on ``host`` (no keys needed for these rules)."""
    base = f"https://{host}/users/{name}"
    return Actor(ap_id=base, type="Person", local=False, username=name, domain=host,
                 inbox=base + "/inbox", languages=[], links=[])


async def test_block_cancels_deliveries_and_severs_follows(app: FediApp) -> None:
    state = app.state
    async with state.db.session() as db:
        local = Actor(ap_id="http://localhost:8000/users/anna", type="Person", local=True,
                      username="anna", domain="localhost:8000", inbox="x", languages=[], links=[])
        spammer = remote_actor("spam", "social.spam.example:8443")
        friend = remote_actor("friend", "good.example")
        db.add_all([local, spammer, friend])
        await db.flush()
        db.add_all([
            Follow(follower_id=spammer.id, followed_id=local.id, activity_ap_id="f1",
                   accepted=True),
            Follow(follower_id=local.id, followed_id=spammer.id, activity_ap_id="f2",
                   accepted=True),
            Follow(follower_id=friend.id, followed_id=local.id, activity_ap_id="f3",
                   accepted=True),
        ])
        activity = OutboxActivity(ap_id="http://localhost:8000/activities/1", actor_id=local.id,
                                  type="Create", payload={}, public=True)
        db.add(activity)
        await db.flush()
        db.add_all([
            Delivery(activity_id=activity.id, inbox_url="https://social.spam.example:8443/inbox",
                     domain="social.spam.example:8443"),
            Delivery(activity_id=activity.id, inbox_url="https://good.example/inbox",
                     domain="good.example"),
        ])

    async with state.db.session() as db:
        block = await domain_blocks.block_domain(
            db, state.settings, "https://Spam.Example/", reason="spam waves"
        )
        assert block.domain == "spam.example"

    async with state.db.session() as db:
        follows = {f.activity_ap_id for f in await db.scalars(select(Follow))}
        assert follows == {"f3"}, "follows with the blocked server end in both directions"
        states = {d.domain: (d.state, d.last_error) for d in await db.scalars(select(Delivery))}
        assert states["good.example"] == ("pending", None)
        assert states["social.spam.example:8443"][0] == "failed"
        assert "blocked" in (states["social.spam.example:8443"][1] or "")
        assert [b.domain for b in await domain_blocks.list_blocks(db)] == ["spam.example"]


async def test_domain_rules(app: FediApp) -> None:
    state = app.state
    async with state.db.session() as db:
        with pytest.raises(ServiceError):
            await domain_blocks.block_domain(db, state.settings, "not a domain!")
        with pytest.raises(ServiceError):
            await domain_blocks.block_domain(db, state.settings, "localhost:8000")
        await domain_blocks.block_domain(db, state.settings, "@someone@Bad.Example")
    async with state.db.session() as db:
        with pytest.raises(Conflict):
            await domain_blocks.block_domain(db, state.settings, "bad.example")
    async with state.db.session() as db:
        await domain_blocks.unblock_domain(db, "BAD.example")
    async with state.db.session() as db:
        assert await db.scalar(select(DomainBlock)) is None
        with pytest.raises(NotFound):
            await domain_blocks.unblock_domain(db, "bad.example")
