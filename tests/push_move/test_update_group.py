"""``Update{Group}`` when a tribe's profile changes reaches a remote follower (issue 12).

Bob on B (localhost:8002) follows the tribe ``plein`` on A (localhost:8001). Its admin ann
edits the tribe on its settings page: name, description (the tribe's rules and intro),
join mode and image. A sends ``Update{Group}``; B's copy of the Group shows the new name,
description, icon and join mode without waiting for a refetch.
"""

from __future__ import annotations

import io
from typing import Any

from harness import drain
from profile_helpers import png_bytes
from restricted_helpers import follow_group
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from models import Actor, Follow, InboxItem, OutboxActivity
from tests.tribe_helpers import csrf_of, login, make_person, make_tribe

GROUP = "http://localhost:8001/tribes/plein"


async def test_a_tribe_edit_reaches_the_remote_follower(two_apps: Any) -> None:
    a, b = two_apps
    await make_person(a, "ann")
    await make_person(b, "bob")
    await make_tribe(a, "plein", "ann", name="Het plein", description="Over het plein.")
    await follow_group(b, "bob", "plein@localhost:8001")
    await drain(a, b)
    async with b.state.db.session() as db:
        copy = await db.scalar(select(Actor).where(Actor.ap_id == GROUP))
        assert copy is not None and copy.display_name == "Het plein"
        assert await db.scalar(select(Follow.accepted).where(Follow.followed_id == copy.id))

    client = a.test_client()
    await login(client, "ann")
    token = await csrf_of(client, "/tribes/plein/settings")
    form = {
        "csrf_token": token, "name": "Het nieuwe plein", "theme": "Groen",
        "description": "Regels: wees aardig. Iedereen is welkom na een vraag.",
        "tags": "groen", "location": "Utrecht", "language": "nl",
        "initiative_policy": "members", "budget_available": "", "target_area": "",
        "join_mode": "approval",
    }
    image = FileStorage(io.BytesIO(png_bytes(4, 4)), filename="plein.png",
                        content_type="image/png")
    saved = await client.post("/tribes/plein/settings", form=form, files={"image": image})
    assert saved.status_code in (302, 303), await saved.get_data(as_text=True)
    async with a.state.db.session() as db:
        updates = list(await db.scalars(
            select(OutboxActivity).where(OutboxActivity.type == "Update")
        ))
        assert updates and all(u.payload["object"]["type"] == "Group" for u in updates)
    await drain(a, b)

    async with b.state.db.session() as db:
        copy = await db.scalar(select(Actor).where(Actor.ap_id == GROUP))
        assert copy is not None
        assert copy.display_name == "Het nieuwe plein"
        assert "wees aardig" in copy.bio_html
        assert copy.manually_approves_followers is True
        assert copy.raw is not None and copy.raw["pu:joinMode"] == "approval"
        assert copy.icon_url and copy.icon_url.startswith("http://localhost:8001/")
        received = list(await db.scalars(select(InboxItem).where(InboxItem.type == "Update")))
        assert received and {item.state for item in received} == {"done"}
