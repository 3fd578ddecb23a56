"""Serving the instance's own ``Application`` actor at ``{base}/actor`` and its empty outbox
(the actor itself: ``fedi.federation.instance_actor``)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, redirect

from activitypub.builders import ordered_collection
from fedi.federation.documents.cache import INSTANCE_KEY, cached_document
from fedi.federation.instance_actor import (
    INSTANCE_PATH,
    ensure_instance_actor,
    instance_actor_document,
)
from fedi.http.ap.actors import activity_json_bytes, activity_json_response, wants_activity_json
from fedi.state import get_state

__all__ = ["blueprint"]

blueprint = Blueprint("instance_actor", __name__)


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
