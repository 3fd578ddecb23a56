"""The instance's own ``Application`` actor (FEP-2677) at ``{base}/actor``.

It signs fetches made on behalf of the server itself (key lookups, objects referenced by
incoming activities), which is what servers in Mastodon's authorized-fetch mode require.
Its username is the instance's domain (FEP-d556 looks it up by the instance URL).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_actor, ordered_collection
from activitypub.keys import generate_rsa_keypair
from fedi.dbutil import insert_ignore
from fedi.federation.documents.actors import actor_context
from fedi.federation.documents.cache import INSTANCE_KEY, cached_document
from fedi.http.ap.actors import (
    activity_json_bytes,
    activity_json_response,
    wants_activity_json,
)
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor

__all__ = ["blueprint", "ensure_instance_actor", "instance_actor_document", "instance_actor_id"]

INSTANCE_PATH = "/actor"

blueprint = Blueprint("instance_actor", __name__)


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


@blueprint.get(INSTANCE_PATH)
async def actor_document() -> Response | Any:
    """Serve the instance actor as JSON (browsers are sent to the about page)."""
    if not wants_activity_json():
        return redirect("/about")
    state = get_state()

    async def build() -> tuple[int, dict[str, Any]]:
        async with state.db.session() as db:
            actor = await ensure_instance_actor(db, state.settings)
        return actor.id, instance_actor_document(state.settings, actor)

    # From the document cache (``fedi.federation.documents.cache``): servers in authorized-fetch
    # mode fetch this key for every request we sign.
    body = await cached_document(state, INSTANCE_KEY, build)
    assert body is not None
    return activity_json_bytes(body)


@blueprint.get(INSTANCE_PATH + "/outbox")
async def actor_outbox() -> Response:
    """The instance actor publishes nothing: an empty collection."""
    settings = get_state().settings
    return activity_json_response(
        ordered_collection(settings.url(INSTANCE_PATH + "/outbox"), 0, ordered_items=[])
    )
