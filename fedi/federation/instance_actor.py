"""The instance's own ``Application`` actor (FEP-2677) at ``{base}/actor``.

It signs fetches made on behalf of the server itself (key lookups, objects referenced by
incoming activities), which is what servers in Mastodon's authorized-fetch mode require.
Its username is the instance's domain (FEP-d556 looks it up by the instance URL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_actor
from activitypub.keys import generate_rsa_keypair
from fedi.dbutil import insert_ignore
from fedi.federation.documents.actors import actor_context
from fedi.settings import Settings
from models import Actor

__all__ = [
    "INSTANCE_PATH",
    "ensure_instance_actor",
    "instance_actor_document",
    "instance_actor_id",
]

INSTANCE_PATH = "/actor"



def instance_actor_id(settings: Settings) -> str:
    """The instance actor's id: ``{base}/actor``."""
    return settings.url(INSTANCE_PATH)


async def ensure_instance_actor(db: AsyncSession, settings: Settings) -> Actor:
    """Return the instance actor, creating it (with a new key pair) on first use.

    Two processes starting at once (``fedi serve`` and ``fedi worker``) may both try; the
    insert ignores the conflict and both read back the one row that won.
    """
    ap_id = instance_actor_id(settings)
    actor = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    if actor is not None:
        return actor
    private_pem, public_pem = generate_rsa_keypair()
    await db.execute(
        insert_ignore(db, Actor, ["ap_id"]).values(
            ap_id=ap_id,
            type="Application",
            local=True,
            username=settings.domain,
            domain=settings.host,
            display_name=settings.instance_name,
            inbox=ap_id + "/inbox",
            shared_inbox=settings.url("/inbox"),
            outbox=ap_id + "/outbox",
            url=settings.url("/about"),
            key_id=ap_id + "#main-key",
            public_key_pem=public_pem,
            private_key_pem=private_pem,
            manually_approves_followers=True,
            discoverable=False,
            languages=[],
            links=[],
        )
    )
    actor = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    assert actor is not None
    return actor


def instance_actor_document(settings: Settings, actor: Actor) -> dict[str, Any]:
    """The JSON document of the instance actor."""
    doc = build_actor(
        actor_id=actor.ap_id,
        actor_type="Application",
        username=actor.username,
        name=settings.instance_name,
        summary_html="",
        url=actor.url or settings.base_url,
        inbox=actor.inbox,
        outbox=actor.outbox or actor.ap_id + "/outbox",
        followers="",
        following="",
        shared_inbox=actor.shared_inbox or settings.url("/inbox"),
        public_key_pem=actor.public_key_pem or "",
        manually_approves=True,
        discoverable=False,
        context=actor_context(settings),
    )
    # The instance actor has no social graph; empty collection URLs would only confuse.
    doc.pop("followers", None)
    doc.pop("following", None)
    return doc
