"""Storing remote actors: two kinds of actor may share a name on one host (Lemmy)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from activitypub.keys import generate_rsa_keypair
from fedi.federation.remote.actor_rows import upsert_actor_document
from fedi.federation.remote.actors import ActorUnavailable
from fedi.state import FediApp
from models import Actor

pytestmark = pytest.mark.db

PEM = generate_rsa_keypair()[1]


def lemmy_actor(path: str, kind: str, name: str = "main") -> dict[str, Any]:
    """A Lemmy-shaped actor document on lemmy.example."""
    ap_id = f"https://lemmy.example/{path}"
    return {
        "id": ap_id,
        "type": kind,
        "preferredUsername": name,
        "inbox": f"{ap_id}/inbox",
        "outbox": f"{ap_id}/outbox",
        "endpoints": {"sharedInbox": "https://lemmy.example/inbox"},
        "publicKey": {"id": f"{ap_id}#main-key", "owner": ap_id, "publicKeyPem": PEM},
    }


async def test_person_and_community_with_one_name_are_both_kept(app: FediApp) -> None:
    """Lemmy's /u/main and /c/main are both "main": each keeps its own row, neither is
    overwritten by the other, and storing them again changes nothing."""
    settings = app.state.settings
    for _ in range(2):
        async with app.state.db.session() as db:
            person = await upsert_actor_document(db, settings, lemmy_actor("u/main", "Person"))
            group = await upsert_actor_document(db, settings, lemmy_actor("c/main", "Group"))
            await db.commit()
        assert person.id != group.id
    async with app.state.db.session() as db:
        rows = {
            row.ap_id: (row.type, row.username)
            for row in await db.scalars(select(Actor).where(Actor.domain == "lemmy.example"))
        }
    assert rows == {
        "https://lemmy.example/u/main": ("Person", "main"),
        "https://lemmy.example/c/main": ("Group", "main~group"),
    }


async def test_a_moved_id_takes_over_its_handle(app: FediApp) -> None:
    """The same kind of actor under a new id for the same handle: the row follows."""
    settings = app.state.settings
    async with app.state.db.session() as db:
        old = await upsert_actor_document(db, settings, lemmy_actor("u/main", "Person"))
        new = await upsert_actor_document(db, settings, lemmy_actor("users/main", "Person"))
        await db.commit()
    assert old.id == new.id
    assert new.ap_id == "https://lemmy.example/users/main"


async def test_an_actor_claiming_our_host_is_refused(app: FediApp) -> None:
    """A document naming our own host is never stored (permanent, no retry)."""
    doc = lemmy_actor("u/x", "Person")
    doc["id"] = app.state.settings.url("/users/x")
    async with app.state.db.session() as db:
        with pytest.raises(ActorUnavailable) as raised:
            await upsert_actor_document(db, app.state.settings, doc)
    assert raised.value.permanent
