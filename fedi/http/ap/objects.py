"""Serving the notes and activities we host, by their ids.

``/users/<u>/notes/<id>`` is a note's id: ActivityPub clients get the ``Note`` JSON,
browsers a page. ``/activities/<id>`` serves the activities our people published.

Visibility is enforced here as everywhere: public and unlisted things are open to all;
followers-only and direct ones only to the viewer they reach: a fetch signed (HTTP
Signatures) by an actor they were addressed to (or by the instance actor of that actor's
server), a client of such a local person with their bearer token (their own follow,
followers-only or direct note, what was sent to them), or, for pages, such a person logged
in here. A note answers 404 to anyone else, so its existence is not revealed; an activity
(its id is an unguessable UUID, so nothing is revealed) answers 401 with
``WWW-Authenticate`` to a request without credentials, so a C2S client knows to send its
token, and 404 to credentials that do not reach it. A bearer token that is unknown or
revoked answers 401. Other methods than GET/HEAD answer 405 with ``Allow``. A deleted note
answers 410 with a ``Tombstone``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, g, request
from sqlalchemy import select

from activitypub.builders import build_tombstone
from activitypub.http_signatures import SignatureError, verify_request
from activitypub.vocab import AS_CONTEXT, as_list, host_of, id_of
from fedi.domain import notes
from fedi.domain.tokens import authenticate_token
from fedi.federation.runtime import get_federation
from fedi.http.ap.actors import (
    activity_json_response,
    json_not_found,
    wants_activity_json,
)
from fedi.http.ap.inbox import request_target_uri
from fedi.http.web.csrf import csrf_exempt
from fedi.http.web.render import render
from fedi.state import get_state
from models import Actor, ApObject, OutboxActivity, Reaction

blueprint = Blueprint("ap_objects", __name__)


# Methods the object and activity ids do not support (405 with ``Allow``).
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
CHALLENGE = 'Bearer realm="objects", Signature realm="objects"'


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def token_viewer(db: Any) -> Actor | None:
    """The local person whose bearer token this request carries (a C2S client), if valid."""
    token = _bearer()
    if token is None:
        return None
    user = await authenticate_token(db, token)
    if user is None:
        return None
    return await db.get(Actor, user.actor_id)


async def bad_token(db: Any) -> Response | None:
    """401 when the request carries a bearer token that is unknown or revoked."""
    if _bearer() is None or await token_viewer(db) is not None:
        return None
    response = Response(
        b'{"error": "invalid token"}', status=401, content_type="application/json"
    )
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _credentials_required() -> Response:
    response = Response(
        b'{"error": "sign the request or send a bearer token"}', status=401,
        content_type="application/json",
    )
    response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def _has_credentials() -> bool:
    return _bearer() is not None or "signature" in request.headers or (
        "signature-input" in request.headers
    )


async def signed_viewer(db: Any) -> Actor | None:
    """Who is asking: the local person of a valid bearer token (a C2S client), else the
    actor that signed this GET (HTTP Signatures), if any and if it verifies."""
    by_token = await token_viewer(db)
    if by_token is not None:
        return by_token
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


def _not_allowed() -> Response:
    response = Response(
        b'{"error": "method not allowed"}', status=405, content_type="application/json"
    )
    response.headers["Allow"] = "GET, HEAD"
    return response


@blueprint.route("/users/<username>/notes/<note_id>", methods=OTHER_METHODS)
@blueprint.route("/activities/<activity_id>", methods=OTHER_METHODS)
@csrf_exempt
async def not_allowed(**_ids: str) -> Response:
    """Object and activity ids are read-only: 405 (changes go through the outbox)."""
    return _not_allowed()


async def _may_see_activity(db: Any, viewer: Actor, author: Actor, payload: Any) -> bool:
    """Whether ``viewer`` may read the activity ``payload`` by ``author``: they are
    addressed (or its author), or they are the instance actor of a server where an
    addressed actor lives (servers confirm at the origin what was sent to their people)."""
    if await notes.is_addressed(db, viewer, author, payload):
        return True
    if viewer.type != "Application":
        return False
    host = host_of(viewer.ap_id)
    addressed = [
        id_of(x) for name in ("to", "cc", "bto", "bcc", "audience")
        for x in as_list(payload.get(name))
    ]
    return any(ident and host_of(ident) == host for ident in addressed)


@blueprint.get("/users/<username>/notes/<note_id>")
async def note(username: str, note_id: str) -> Response | tuple[str, int]:
    """A note of ours: JSON for ActivityPub clients, a page for browsers."""
    state = get_state()
    ap_id = state.settings.url(f"/users/{username}/notes/{note_id}")
    as_json = wants_activity_json()
    async with state.db.session() as db:
        if as_json:
            refused = await bad_token(db)
            if refused is not None:
                return refused
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
            refused = await bad_token(db)
            if refused is not None:
                return refused
            if not _has_credentials():
                return _credentials_required()
            viewer = await signed_viewer(db)
            if viewer is None or not await _may_see_activity(db, viewer, author, row.payload):
                return json_not_found()
        document = dict(row.payload)
        document.setdefault("@context", AS_CONTEXT)
    return activity_json_response(document)
