"""Serving our people as ActivityPub actors, with content negotiation.

``/users/<name>`` is the actor id: servers asking for ActivityPub JSON get the ``Person``
document, browsers are sent to the profile page ``/@<name>``. The profile page in turn
answers with the JSON when asked for it, as Mastodon does (people paste profile URLs into
search boxes, and servers then fetch that URL with an ActivityPub ``Accept``).
"""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, abort, redirect, request
from werkzeug.wrappers.response import Response as BaseResponse

from activitypub.vocab import ACTIVITY_JSON
from fedi.domain.account_deletion import find_deleted_local_person
from fedi.domain.account_suspension import find_suspended_local_person
from fedi.domain.profiles import find_local_person
from fedi.domain.talents import ensure_talents_loaded
from fedi.federation.documents.actors import person_document
from fedi.federation.documents.cache import cached_document, person_key
from fedi.federation.documents.moves import suspended_document
from fedi.http.web.request_db import request_session
from fedi.state import get_state

blueprint = Blueprint("actors", __name__)

ACTIVITY_JSON_UTF8 = f"{ACTIVITY_JSON}; charset=utf-8"
_AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def _parse_accept(header: str) -> list[tuple[str, dict[str, str], float]]:
    """Split an Accept header into (media type, parameters, quality) entries."""
    entries: list[tuple[str, dict[str, str], float]] = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        media_type = pieces[0].lower()
        if not media_type:
            continue
        params: dict[str, str] = {}
        quality = 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key = key.strip().lower()
            value = value.strip().strip('"')
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif key:
                params[key] = value
        entries.append((media_type, params, quality))
    return entries


def wants_activity_json(accept: str | None = None) -> bool:
    """Whether the request asks for ActivityPub JSON rather than a page.

    True for ``application/activity+json`` and ``application/ld+json`` (with or without the
    ActivityStreams profile: Pleroma and some crawlers leave it out), unless ``text/html`` is
    preferred. A plain ``application/json`` counts only when HTML is not acceptable at all,
    the way Mastodon treats it.
    """
    header = request.headers.get("Accept", "") if accept is None else accept
    ap_quality = 0.0
    json_quality = 0.0
    html_quality = 0.0
    for media_type, params, quality in _parse_accept(header):
        if media_type == ACTIVITY_JSON:
            ap_quality = max(ap_quality, quality)
        elif media_type == "application/ld+json":
            profile = params.get("profile", _AS_PROFILE)
            if _AS_PROFILE in profile.split():
                ap_quality = max(ap_quality, quality)
        elif media_type == "application/json":
            json_quality = max(json_quality, quality)
        elif media_type in ("text/html", "application/xhtml+xml"):
            html_quality = max(html_quality, quality)
    if ap_quality > 0:
        return ap_quality >= html_quality
    return json_quality > 0 and html_quality == 0


def activity_json_response(document: object, status: int = 200) -> Response:
    """A response carrying an ActivityStreams document, varying on ``Accept``."""
    return activity_json_bytes(orjson.dumps(document), status)


def activity_json_bytes(body: bytes, status: int = 200) -> Response:
    """A response carrying an already serialised ActivityStreams document."""
    response = Response(body, status=status, content_type=ACTIVITY_JSON_UTF8)
    response.headers["Vary"] = "Accept"
    return response


def json_not_found() -> Response:
    """The 404 answer for ActivityPub clients."""
    response = Response(
        orjson.dumps({"error": "Not Found"}), status=404, content_type="application/json"
    )
    response.headers["Vary"] = "Accept"
    return response


async def person_response(username: str) -> Response:
    """The ``Person`` document of a visible local person, or a JSON 404.

    Served from the document cache (``fedi.federation.documents.cache``) when it holds it.
    """
    state = get_state()

    async def build() -> tuple[int, dict[str, Any]] | None:
        async with request_session() as db:
            actor = await find_local_person(db, username)
            if actor is None:
                return None
            await ensure_talents_loaded(db, actor)
            return actor.id, person_document(state.settings, actor)

    body = await cached_document(state, person_key(username), build)
    if body is None:
        return (
            await deleted_person_response(username)
            or await suspended_person_response(username)
            or json_not_found()
        )
    return activity_json_bytes(body)


async def deleted_person_response(username: str) -> Response | None:
    """410 Gone with a ``Tombstone`` for a deleted local person (as Mastodon answers), or None.

    Servers that refetch the actor after our ``Delete`` learn it is gone for good.
    """
    async with request_session() as db:
        actor = await find_deleted_local_person(db, username)
    if actor is None:
        return None
    deleted = actor.gone_at.strftime("%Y-%m-%dT%H:%M:%SZ") if actor.gone_at else None
    document = {
        "@context": _AS_PROFILE, "id": actor.ap_id, "type": "Tombstone",
        "formerType": "Person", "deleted": deleted,
    }
    return activity_json_response(document, status=410)


async def suspended_person_response(username: str) -> Response | None:
    """The document of a suspended local person (issue 12), or None.

    As Mastodon serves it: 200 with ``suspended: true`` and no profile, the key kept, so
    other servers hide the account without forgetting it (a suspension can be lifted).
    """
    state = get_state()
    async with request_session() as db:
        actor = await find_suspended_local_person(db, username)
        if actor is None:
            return None
        await ensure_talents_loaded(db, actor)
        document = person_document(state.settings, actor)
    return activity_json_response(suspended_document(document))


@blueprint.get("/users/<username>")
async def user_actor(username: str) -> Response | BaseResponse:
    """The actor id of a person: JSON for servers, a redirect to the profile for browsers."""
    if wants_activity_json():
        return await person_response(username)
    async with request_session() as db:
        actor = await find_local_person(db, username)
        gone = actor is None and (
            await find_deleted_local_person(db, username) is not None
            or await find_suspended_local_person(db, username) is not None
        )
    if actor is None:
        abort(410 if gone else 404)
    response = redirect(f"/@{actor.username}", 302)
    response.headers["Vary"] = "Accept"
    return response
