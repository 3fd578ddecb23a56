"""Joining and leaving one of our own meetups over the C2S outbox, in process.

The event page's buttons and the outbox go through the same service: a ``Join`` posted by
a member takes them part (by the join mode and capacity), a ``Leave`` ends it, and both are
the person's activities (201 with their id, in the organiser's inbox here, never sent to
another server). An approval event leaves the Join pending; a members-only one refuses an
outsider with 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from meetup_helpers import add_member, make_meetup
from social_helpers import inbox_ids, post_outbox, token_for
from sqlalchemy import select
from tribe_helpers import make_person, make_tribe

from fedi.domain import meetups
from models import Delivery, Meetup

pytestmark = pytest.mark.db

AS = "https://www.w3.org/ns/activitystreams"


async def _states(app: Any, meetup: Meetup) -> dict[str, str]:
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        people = [
            *await meetups.participants(db, row, "accepted"),
            *await meetups.participants(db, row, "pending"),
        ]
        return {p.actor.username: p.state for p in people}


async def test_join_and_leave_our_own_event_over_c2s(app: Any) -> None:
    for name in ("fatima", "joris", "outsider"):
        await make_person(app, name)
    await make_tribe(app, "plein", "fatima")
    await add_member(app, "plein", "joris")
    open_event = await make_meetup(app, "plein", "fatima")
    joris = await token_for(app, "joris")

    joined = await post_outbox(app, "joris", joris, {"@context": AS, "type": "Join",
                                                    "object": open_event.ap_id})
    assert joined.status_code == 201, await joined.get_data(as_text=True)
    join = await joined.get_json()
    assert join["type"] == "Join" and join["object"] == open_event.ap_id
    assert (await _states(app, open_event))["joris"] == "accepted"
    # The organiser finds it in their inbox; the activity's id answers its owner.
    assert join["id"] in await inbox_ids(app, "fatima")
    assert joined.headers["Location"] == join["id"]

    left = await post_outbox(app, "joris", joris, {"@context": AS, "type": "Leave",
                                                  "object": open_event.ap_id})
    assert left.status_code == 201, await left.get_data(as_text=True)
    assert "joris" not in await _states(app, open_event)

    approval = await make_meetup(app, "plein", "fatima", join_mode="approval")
    asked = await post_outbox(app, "joris", joris, {"@context": AS, "type": "Join",
                                                   "object": approval.ap_id})
    assert asked.status_code == 201
    assert (await _states(app, approval))["joris"] == "pending"

    members_only = await make_meetup(app, "plein", "fatima", join_mode="members")
    outsider = await token_for(app, "outsider")
    refused = await post_outbox(app, "outsider", outsider, {"@context": AS, "type": "Join",
                                                           "object": members_only.ap_id})
    assert refused.status_code == 403
    assert "outsider" not in await _states(app, members_only)
    async with app.state.db.session() as db:
        # Nothing of this concerns another server.
        assert (await db.scalars(select(Delivery))).all() == []
