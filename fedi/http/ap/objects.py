"""Serving the notes and activities we host, by their ids.

``/users/<u>/notes/<id>`` is a note's id: ActivityPub clients get the ``Note`` JSON,
browsers a page. ``/activities/<id>`` serves the activities our people published.

Visibility is enforced here as everywhere: public and unlisted things are open to all;
followers-only and direct ones only to a fetch signed (HTTP Signatures) by an actor they
were addressed to — or, for pages, to such a person logged in here — and otherwise answer
404, so their existence is not revealed. A deleted note answers 410 with a ``Tombstone``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, g, request
from sqlalchemy import select

from activitypub.builders import build_tombstone
from activitypub.http_signatures import SignatureError, verify_request
from activitypub.vocab import AS_CONTEXT
from fedi.domain import notes
from fedi.federation.runtime import get_federation
from fedi.http.ap.actors import (
    activity_json_response,
    json_not_found,
    wants_activity_json,
)
from fedi.http.ap.inbox import request_target_uri
from fedi.http.web.render import render
from fedi.state import get_state
from models import Actor, ApObject, OutboxActivity, Reaction

blueprint = Blueprint("ap_objects", __name__)


async def signed_viewer(db: Any) -> Actor | None:
    """The actor that signed this GET (HTTP Signatures), if any and if it verifies."""
    if "signature" not in request.headers and "signature-input" not in request.headers:
        return None
    state = get_state()
    try:
        verified = await verify_request(
            "GET",
            request_target_uri(state.settings.base_url),
            dict(request.headers.items()),
            None,
            get_federation(state).key_cache.resolve,
        )
    except SignatureError:
        return None
    actor = await db.scalar(select(Actor).where(Actor.ap_id == verified.owner))
    if actor is None:
        # Known only by its key: enough to match direct addressing, never a follower.
        actor = Actor(id=-1, ap_id=verified.owner, username="", domain="")
    return actor


def _session_viewer() -> Actor | None:
    user = getattr(g, "user", None)
    return user.actor if user is not None else None


def _tombstone_response(ap_id: str, former_type: str, deleted: Any) -> Response:
    return activity_json_response(build_tombstone(ap_id, former_type, deleted), status=410)


@blueprint.get("/users/<username>/notes/<note_id>")
async def note(username: str, note_id: str) -> Response | tuple[str, int]:
    """A note of ours: JSON for ActivityPub clients, a page for browsers."""
    state = get_state()
    ap_id = state.settings.url(f"/users/{username}/notes/{note_id}")
    as_json = wants_activity_json()
    async with state.db.session() as db:
        obj = await db.scalar(
            select(ApObject).where(ApObject.ap_id == ap_id, ApObject.local.is_(True))
        )
        if obj is None:
            return json_not_found() if as_json else abort(404)
        if obj.deleted_at is not None:
            if as_json:
                former = str((obj.payload or {}).get("formerType") or "Note")
                return _tombstone_response(ap_id, former, obj.deleted_at)
            abort(410)
        viewer = await signed_viewer(db) if as_json else _session_viewer()
        if not await notes.can_see(db, viewer, obj):
            return json_not_found() if as_json else abort(404)
        if as_json:
            document = {"@context": AS_CONTEXT, **obj.payload}
            return activity_json_response(document)
        author = await db.get(Actor, obj.attributed_to_id) if obj.attributed_to_id else None
        likes = await _count(db, obj.ap_id, "Like")
        boosts = await _count(db, obj.ap_id, "Announce")
    return await render(
        "social/note.html", note=obj, author=author, likes=likes, boosts=boosts
    )


async def _count(db: Any, ap_id: str, kind: str) -> int:
    from sqlalchemy import func

    return int(
        await db.scalar(
            select(func.count(Reaction.id)).where(
                Reaction.object_ap_id == ap_id, Reaction.kind == kind
            )
        )
        or 0
    )


@blueprint.get("/activities/<activity_id>")
async def activity(activity_id: str) -> Response:
    """An activity one of our people published (JSON only)."""
    state = get_state()
    ap_id = state.settings.url(f"/activities/{activity_id}")
    async with state.db.session() as db:
        row = await db.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == ap_id))
        if row is None:
            return json_not_found()
        if row.type in ("Create", "Update") and row.object_ap_id:
            obj = await db.scalar(select(ApObject).where(ApObject.ap_id == row.object_ap_id))
            if obj is not None and obj.deleted_at is not None:
                return _tombstone_response(ap_id, row.type, obj.deleted_at)
        author = await db.get(Actor, row.actor_id)
        if author is None:
            return json_not_found()
        if not row.public:
            viewer = await signed_viewer(db)
            if viewer is None or not await notes.is_addressed(db, viewer, author, row.payload):
                return json_not_found()
        document = dict(row.payload)
        document.setdefault("@context", AS_CONTEXT)
    return activity_json_response(document)
