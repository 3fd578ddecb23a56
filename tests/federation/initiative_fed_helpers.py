"""Helpers for the initiatives federation tests (two instances and a Mastodon-shaped fake).

Import as ``from initiative_fed_helpers import ...`` (pytest puts tests/federation on
sys.path). ``setup_scenario`` builds the issue's starting point: alice's open tribe
``plein`` on A (localhost:8001), carol on A, bob on B (localhost:8002) who joined the tribe
by following it, and mia on a Mastodon-shaped fake (localhost:9001) who follows it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakes import FakeActor
from harness import drain
from sqlalchemy import select
from tribe_fed_helpers import AS, PUBLIC, RecordingServer, deliver, member_state, remote
from tribe_helpers import make_person as make_web_person
from tribe_helpers import make_tribe

from fedi.domain import follows
from fedi.federation.remote.actors import resolve_handle
from fedi.state import FediApp
from models import Actor, Comment, Contribution, Initiative, InitiativeSupporter, Task

A = "http://localhost:8001"
B = "http://localhost:8002"
PLEIN = f"{A}/tribes/plein"
BOB = f"{B}/users/bob"
AP_HEADERS = {"Accept": "application/activity+json"}

__all__ = ["AS", "PUBLIC", "Scenario", "copy_state", "setup_scenario"]


@dataclass
class Scenario:
    """The two apps, the Mastodon-shaped server and its account."""

    a: FediApp
    b: FediApp
    server: RecordingServer
    mia: FakeActor


async def setup_scenario(pair: Any, *, join_mode: str = "open") -> Scenario:
    """Alice's tribe on A, carol on A, bob on B (a member by following), mia following."""
    a, b = pair
    server, mia = remote(pair.router, "localhost:9001", "mia")
    await make_web_person(a, "alice")
    await make_web_person(a, "carol")
    await make_tribe(a, "plein", "alice", join_mode=join_mode)
    await make_web_person(b, "bob")
    follow = mia.activity("Follow", PLEIN)
    assert await deliver(a, mia, follow, "/tribes/plein/inbox") == 202
    async with b.state.db.session() as db:
        bob = await db.scalar(select(Actor).where(Actor.ap_id == BOB))
        group = await resolve_handle(b.state, db, "plein@localhost:8001")
        await follows.follow(db, b.state, bob, group)
    await drain(a, b)
    assert await member_state(a, "plein", mia.id) == "active"
    return Scenario(a, b, server, mia)


async def copy_state(app: FediApp, page_id: str) -> dict[str, Any]:
    """What ``app`` knows of the initiative ``page_id``: tasks, offers, comments, supporters."""
    async with app.state.db.session() as db:
        initiative = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        if initiative is None:
            return {}
        tasks = (await db.scalars(
            select(Task).where(Task.initiative_id == initiative.id).order_by(Task.id)
        )).unique().all()
        offers = (await db.scalars(
            select(Contribution).where(Contribution.initiative_id == initiative.id)
            .order_by(Contribution.id)
        )).unique().all()
        comments = (await db.scalars(
            select(Comment).where(Comment.initiative_id == initiative.id).order_by(Comment.id)
        )).unique().all()
        supporters = (await db.scalars(
            select(InitiativeSupporter).where(InitiativeSupporter.initiative_id == initiative.id)
        )).unique().all()
        return {
            "id": initiative.id,
            "local": initiative.local,
            "tribe": initiative.tribe.actor.ap_id,
            "name": initiative.name,
            "deleted": initiative.deleted_at is not None,
            "tasks": [(t.ap_id, t.name, t.completed_at is not None) for t in tasks],
            "task_ids": [t.id for t in tasks],
            "offers": [(o.ap_id, o.actor.ap_id, o.hours, o.state) for o in offers],
            "comments": [(c.ap_id, c.author.ap_id, c.in_reply_to_ap_id) for c in comments],
            "supporters": sorted(s.actor.ap_id for s in supporters),
        }
