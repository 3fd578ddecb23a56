"""Client-to-server: a person POSTs activities to their own outbox with a bearer token.

``POST /users/<u>/outbox`` with ``Authorization: Bearer <token>`` (``fedi token create``)
and a JSON body (``application/activity+json``, ``application/ld+json`` or
``application/json``). The token must belong to ``<u>`` (401 without a valid token, 403 for
somebody else's outbox). The server assigns every id itself (ids sent by the client are
ignored), performs the activity through the same services as the web pages, and answers
``201 Created`` with ``Location`` = the new activity's id and the stored activity as body.

Every action of the web pages has its form here, dispatched in this order: meetups
(``outbox_meetups``), polls (``outbox_polls``), one's profile (``outbox_profile``),
invitations by e-mail and by link (``outbox_invites``), resolving a report
(``outbox_reports``), initiatives with their lanes, tasks,
contributions, support, partnership, messages and comments (``outbox_initiatives``), tribes
(``outbox_tribes``), tribe moderation (``outbox_moderation``), and then what this module
does itself: ``Create{Note}``, ``Update{Note}``, ``Delete``, ``Follow``, ``Undo`` (of
Follow, Like, Announce, Block), ``Like``, ``Announce``, and ``Accept``/``Reject`` of a
follow request. A Follow's ``object`` is an actor id; as a convenience a handle
(``name@host``, ``@name@host`` or ``acct:name@host``) is accepted too.

A bare object (``Note``, ``Page``, ``Ticket``, ``Group``, ``Event``, ``Question``, ``Lane``,
``Rating``) is wrapped in ``Create`` (ActivityPub 6.2.1), its addressing and ``audience``
copied to the activity. A note without any addressing gets the author's default audience,
the one the compose form starts with: public (``to`` Public, ``cc`` their followers).
``audience`` is a delivery target like ``to``/``cc``/``bto``/``bcc`` (7.1.1): every actor
named there (a person, a tribe) is delivered to; Public and one's own followers collection
set the visibility.

``POST /tribes/<slug>/outbox`` is the tribe's own outbox (``outbox_group``); media are
uploaded to ``POST /users/<u>/uploadMedia`` (``outbox_media``).
"""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.checks import BadRequest, parse_json_body
from activitypub.normalize import Malformed, check_limits
from activitypub.vocab import AS_CONTEXT, PUBLIC, PUBLIC_ALIASES, as_list, id_of
from fedi.domain import account_move, follows, notes, reactions
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.local_actors import followers_url_of
from fedi.domain.profiles import find_local_person
from fedi.domain.ratelimit import LimitReached
from fedi.domain.tokens import authenticate_token
from fedi.federation.incoming.posts import get_or_fetch_object
from fedi.federation.remote.mentions import mentioned_actors, resolve_mentions
from fedi.http.ap import (
    outbox_initiatives,
    outbox_invites,
    outbox_media,
    outbox_meetups,
    outbox_moderation,
    outbox_polls,
    outbox_profile,
    outbox_reports,
    outbox_tribes,
)
from fedi.http.ap.actors import ACTIVITY_JSON_UTF8
from fedi.http.ap.outbox_common import BadActivity, resolve_actor
from fedi.http.web.csrf import csrf_exempt
from fedi.state import AppState, get_state
from fedi.text import plain_text, sanitize_remote_html
from models import Actor, Follow, OutboxActivity

blueprint = Blueprint("c2s_outbox", __name__)

ACCEPTED_MEDIA_TYPES = ("application/activity+json", "application/ld+json", "application/json")
# Bare objects a client may post; they are wrapped in Create.
BARE_OBJECT_TYPES = ("Note", "Page", "Ticket", "Group", "Event", "Question", "Lane", "Rating")
# Only these become notes through ``notes.create_note``.
NOTE_TYPES = ("Note",)
# What a bare object's addressing is copied from onto its Create.
ADDRESSING = ("to", "cc", "bto", "bcc", "audience")

__all__ = ["BadActivity", "bearer_token", "json_error", "perform", "read_body"]


def json_error(status: int, message: str) -> Response:
    """A JSON error body ``{"error": message}`` with ``status``."""
    return _json_error(status, message)


def _json_error(status: int, message: str) -> Response:
    return Response(
        orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


def bearer_token() -> str | None:
    """The bearer token of this request's ``Authorization`` header, if any."""
    return _bearer_token()


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def read_body(limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes."""
    return await _read_body(limit)


async def _read_body(limit: int) -> bytes | None:
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_document(state: AppState) -> tuple[str, dict[str, Any]] | Response:
    """The bearer token and the JSON activity of a C2S POST, or the error to answer
    (401 without a token, 415, 413, 400)."""
    token = _bearer_token()
    if token is None:
        response = _json_error(401, "a bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="outbox"'
        return response
    media_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        return _json_error(415, "send application/activity+json")
    body = await _read_body(state.settings.max_body_bytes)
    if body is None:
        return _json_error(413, f"body larger than {state.settings.max_body_bytes} bytes")
    try:
        document = parse_json_body(body, state.settings.max_body_bytes)
        check_limits(document)
    except BadRequest as exc:
        return _json_error(exc.status, str(exc))
    except Malformed as exc:
        return _json_error(400, str(exc))
    return token, document


def invalid_token() -> Response:
    """401 for a token that is unknown or revoked."""
    response = _json_error(401, "invalid token")
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def created(row: OutboxActivity) -> Response:
    """201 with the stored activity and its id as ``Location``."""
    payload = {"@context": AS_CONTEXT, **row.payload}
    response = Response(orjson.dumps(payload), status=201, content_type=ACTIVITY_JSON_UTF8)
    response.headers["Location"] = row.ap_id
    return response


def service_error(exc: ServiceError) -> Response:
    """The JSON answer to a refused action (``Retry-After`` for the posting limit)."""
    response = _json_error(exc.status, str(exc))
    if isinstance(exc, LimitReached):  # the posting limit: say when to try again
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@blueprint.post("/users/<username>/outbox")
@csrf_exempt
async def post_outbox(username: str) -> Response:
    """Perform one activity posted by the outbox's owner."""
    state = get_state()
    read = await read_document(state)
    if isinstance(read, Response):
        return read
    token, document = read
    try:
        # What needs the network (mentioned people, a note to like) is looked up first, in
        # sessions of its own, so the write below holds no transaction across it.
        mentions = await _prepare(state, document)
        async with state.db.session() as db:
            user = await authenticate_token(db, token)
            if user is None:
                return invalid_token()
            owner = await find_local_person(db, username)
            if owner is None or user.actor_id != owner.id:
                return _json_error(403, "this is not your outbox")
            account_move.require_not_moved(owner)  # a moved account is read-only (issue 12)
            row = await perform(db, state, owner, document, mentions)
            answer = created(row)
    except ServiceError as exc:
        return service_error(exc)
    return answer


async def prepare(state: AppState, document: dict[str, Any]) -> dict[str, str]:
    """The network part of an activity, before its write (see :func:`_prepare`)."""
    return await _prepare(state, document)


def _wrapped(document: dict[str, Any]) -> dict[str, Any]:
    """A bare object wrapped in ``Create`` (ActivityPub 6.2.1); other documents as they are."""
    if document.get("type") in BARE_OBJECT_TYPES:
        return {
            "type": "Create",
            "object": document,
            **{k: document[k] for k in ADDRESSING if k in document},
        }
    return document


def _addressed(document: dict[str, Any], obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(to, cc) of a Create and its object merged, as the C2S section wants; ``bto``,
    ``bcc`` and ``audience`` count as ``cc`` (delivered to, never shown as ``to``)."""
    to = [id_of(x) or "" for x in as_list(document.get("to")) + as_list(obj.get("to"))]
    cc = [
        id_of(x) or ""
        for name in ("cc", "bto", "bcc", "audience")
        for x in as_list(document.get(name)) + as_list(obj.get(name))
    ]
    return [x for x in to if x], [x for x in cc if x]


async def _prepare(state: AppState, document: dict[str, Any]) -> dict[str, str]:
    """Do the network part of an activity before its write: resolve the people a Note
    mentions (returned, for :func:`perform`) and the actors it is addressed to, fetch a
    note to like or boost. Failures are left for :func:`perform` to report."""
    document = _wrapped(document)
    kind = document.get("type")
    obj = document.get("object")
    if kind in ("Create", "Update") and isinstance(obj, dict):
        for alias in outbox_profile.aliases_to_fetch(document):
            await _fetch_actor(state, alias)  # Update{Person}'s alsoKnownAs
        if obj.get("type") not in NOTE_TYPES:
            return {}
        try:
            text, _html = _text_and_html(obj)
        except BadActivity:
            return {}
        if kind == "Create":
            to, cc = _addressed(document, obj)
            for ident in dict.fromkeys(to + cc):
                if ident and ident not in PUBLIC_ALIASES and not ident.endswith("/followers"):
                    await _fetch_actor(state, ident)
        return await resolve_mentions(state, text)
    if outbox_invites.is_mail_or_link_invite(document):
        pass  # a mailbox or a link: no actor to fetch
    elif kind in ("Follow", "Block", "Invite"):
        await _fetch_actor(state, document.get("object"))
    elif kind in ("Join", "Leave") and await _unknown_remote(state, id_of(obj)):
        # A tribe elsewhere that nobody here knows yet (its Group is fetched); a Page or an
        # Event we do not hold is not an actor and is then refused as unknown.
        await _fetch_actor(state, obj)
    elif kind in ("Like", "Announce") and id_of(obj):
        try:
            async with state.db.session() as db:
                await get_or_fetch_object(db, state, id_of(obj) or "")
        except NotFound:
            pass
    return {}


async def _unknown_remote(state: AppState, ident: str | None) -> bool:
    """Whether ``ident`` is another server's id that is no actor we know."""
    if not ident or ident.startswith(state.settings.base_url):
        return False
    async with state.db.session() as db:
        return await db.scalar(select(Actor.id).where(Actor.ap_id == ident)) is None


async def _fetch_actor(state: AppState, reference: Any) -> None:
    try:
        async with state.db.session() as db:
            await _resolve_actor(db, state, reference)
    except ServiceError:
        pass


async def perform(
    db: AsyncSession,
    state: AppState,
    owner: Actor,
    document: dict[str, Any],
    mentions: dict[str, str] | None = None,
) -> OutboxActivity:
    """Carry out a client's activity as ``owner``; return the activity we published.

    ``mentions`` are the handles :func:`_prepare` resolved (``name@host`` → actor id).
    """
    document = _wrapped(document)
    # Meetups (issue 15): Create/Update/Delete of an Event (``outbox_meetups``).
    about_event = await outbox_meetups.perform_event(db, state, owner, document)
    if about_event is not None:
        return about_event
    # Polls (issue 15): Create/Update/Delete of a Question, and votes (``outbox_polls``).
    if await outbox_polls.claims(db, document):
        return await outbox_polls.perform(db, state, owner, document)
    # Initiatives, tribes and tribe moderation (issue 14): each claims what is about it.
    # Profile, e-mail/link invitations and report resolving first: each claims only its own
    # (``Update{Person}``, ``Invite`` of ``mailto:`` or a link and its Undo, ``Accept{Flag}``).
    for dispatcher in (
        outbox_profile, outbox_invites, outbox_reports,
        outbox_initiatives, outbox_tribes, outbox_moderation,
    ):
        done = await dispatcher.perform(db, state, owner, document)
        if done is not None:
            return done
    kind = document.get("type")
    handler = _PERFORMERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise BadActivity("unsupported activity type %(kind)s", kind=str(kind))
    if kind == "Create":
        return await _create(db, state, owner, document, await mentioned_actors(db, mentions or {}))
    if kind == "Update":
        return await _update(db, state, owner, document, await mentioned_actors(db, mentions or {}))
    return await handler(db, state, owner, document)


async def _activity_by_id(db: AsyncSession, ap_id: str) -> OutboxActivity:
    row = await db.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == ap_id))
    if row is None:  # the service published it in this very transaction
        raise NotFound("activity not found")
    return row


async def _resolve_actor(db: AsyncSession, state: AppState, reference: Any) -> Actor:
    """An actor from an id or a handle (``outbox_common.resolve_actor``)."""
    return await resolve_actor(db, state, reference)


# ---------------------------------------------------------------- Create / Update / Delete


def _text_and_html(obj: dict[str, Any]) -> tuple[str, str | None]:
    """What the client wrote: markdown source (rendered by us) or HTML (sanitised)."""
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return source["content"], None
    if isinstance(source, str):
        return source, None
    content = obj.get("content")
    if not isinstance(content, str) or not content.strip():
        raise BadActivity("a Note needs content")
    if "<" in content:
        return plain_text(content), sanitize_remote_html(content)
    return content, None


async def _create(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any],
    mentions: dict[str, Actor] | None = None,
) -> OutboxActivity:
    obj = document.get("object")
    if not isinstance(obj, dict) or obj.get("type") not in NOTE_TYPES:
        raise BadActivity(
            "Create of %(kind)s is not supported",
            kind=str(obj.get("type") if isinstance(obj, dict) else "a non-object"),
        )
    text, html = _text_and_html(obj)
    # The C2S spec has the server merge the activity's and the object's addressing.
    to, cc = _addressed(document, obj)
    followers = followers_url_of(owner)
    if not to + cc:
        # The author's default audience, as the compose form starts with: public.
        to, cc = [PUBLIC], [followers]
    visibility = notes.visibility_from(to, cc, followers)
    recipients: list[Actor] = []
    for ident in dict.fromkeys(x for x in to + cc if x):
        if ident in PUBLIC_ALIASES or ident == followers:
            continue
        recipients.append(await _resolve_actor(db, state, ident))
    summary = obj.get("summary") if isinstance(obj.get("summary"), str) else None
    in_reply_to = id_of(obj.get("inReplyTo"))
    # Uploads of the uploadMedia endpoint, as the Mastodon API's media_ids.
    attachments, uploads = await outbox_media.attachment_documents(
        db, state.settings, owner, obj.get("attachment")
    )
    note = await notes.create_note(
        db, state, owner, text, visibility,
        summary=plain_text(summary) if summary else None,
        in_reply_to=in_reply_to,
        recipients=recipients,
        content_html=html,
        mentions=mentions,
        attachments=attachments or None,
    )
    for upload in uploads:
        upload.object_ap_id = note.ap_id
    row = await db.scalar(
        select(OutboxActivity).where(
            OutboxActivity.object_ap_id == note.ap_id, OutboxActivity.type == "Create"
        )
    )
    if row is None:
        raise NotFound("activity not found")
    return row


async def _update(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any],
    mentions: dict[str, Actor] | None = None,
) -> OutboxActivity:
    obj = document.get("object")
    if not isinstance(obj, dict) or obj.get("type") not in NOTE_TYPES:
        raise BadActivity("only Update of a Note, Page, Ticket, Lane, Group or Event is supported")
    ap_id = id_of(obj.get("id"))
    if not ap_id:
        raise BadActivity("the Note to update needs its id")
    note = await notes.get_local_note(db, owner, ap_id)
    text, html = _text_and_html(obj)
    summary = obj.get("summary") if isinstance(obj.get("summary"), str) else None
    activity_id = await notes.update_note(
        db, state, owner, note, text,
        summary=plain_text(summary) if summary else None, content_html=html,
        mentions=mentions,
    )
    return await _activity_by_id(db, activity_id)


async def _delete(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    ap_id = id_of(document.get("object"))
    if not ap_id:
        raise BadActivity("Delete needs the id of the object")
    note = await notes.get_local_note(db, owner, ap_id)
    return await _activity_by_id(db, await notes.delete_note(db, state, owner, note))


# ---------------------------------------------------------------- follows


async def _follow(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    target = await _resolve_actor(db, state, document.get("object"))
    row = await follows.follow(db, state, owner, target)
    return await _activity_by_id(db, row.activity_ap_id)


async def _request_from(
    db: AsyncSession, owner: Actor, reference: Any
) -> Actor:
    """The follower whose request to ``owner`` an Accept/Reject refers to."""
    ref_id = id_of(reference)
    row = None
    if ref_id:
        row = await db.scalar(
            select(Follow).where(Follow.followed_id == owner.id, Follow.activity_ap_id == ref_id)
        )
        if row is None:
            # The object may also name the follower directly.
            follower = await db.scalar(select(Actor).where(Actor.ap_id == ref_id))
            if follower is not None:
                row = await db.scalar(
                    select(Follow).where(
                        Follow.followed_id == owner.id, Follow.follower_id == follower.id
                    )
                )
    if row is None and isinstance(reference, dict):
        follower = await db.scalar(
            select(Actor).where(Actor.ap_id == id_of(reference.get("actor")))
        )
        if follower is not None:
            row = await db.scalar(
                select(Follow).where(
                    Follow.followed_id == owner.id, Follow.follower_id == follower.id
                )
            )
    if row is None:
        raise NotFound("There is no follow request from this account.")
    follower_actor = await db.get(Actor, row.follower_id)
    if follower_actor is None:
        raise NotFound("There is no follow request from this account.")
    return follower_actor


async def _accept(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    follower = await _request_from(db, owner, document.get("object"))
    return await _activity_by_id(
        db, await follows.accept_follow_request(db, state, owner, follower)
    )


async def _reject(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    follower = await _request_from(db, owner, document.get("object"))
    return await _activity_by_id(
        db, await follows.reject_follow_request(db, state, owner, follower)
    )


async def _undo(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    inner = document.get("object")
    inner_id = id_of(inner)
    original: dict[str, Any] | None = None
    if inner_id:
        row = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.ap_id == inner_id, OutboxActivity.actor_id == owner.id
            )
        )
        if row is not None:
            original = row.payload
    if original is None and isinstance(inner, dict):
        original = inner
    if original is None:
        raise NotFound("There is nothing to undo.")
    kind = original.get("type")
    target = id_of(original.get("object"))
    if not target:
        raise BadActivity("Undo needs the activity to undo")
    if kind == "Follow":
        actor = await db.scalar(select(Actor).where(Actor.ap_id == target))
        if actor is None:
            raise NotFound("You are not following this account.")
        return await _activity_by_id(db, await follows.unfollow(db, state, owner, actor))
    if kind == "Like":
        return await _activity_by_id(db, await reactions.unlike(db, state, owner, target))
    if kind == "Announce":
        return await _activity_by_id(db, await reactions.unannounce(db, state, owner, target))
    if kind == "Block":
        tribe = await outbox_moderation.tribe_of(db, original)
        if tribe is not None:
            lifted = await outbox_moderation.undo_block(db, state, owner, original, tribe)
            if lifted is not None:
                return lifted
    raise BadActivity("Undo of %(kind)s is not supported", kind=str(kind))


# ---------------------------------------------------------------- reactions


async def _react(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    target = id_of(document.get("object"))
    if not target:
        raise BadActivity("%(kind)s needs the id of a note", kind=str(document.get("type")))
    if document.get("type") == "Like":
        reaction = await reactions.like(db, state, owner, target)
    else:
        reaction = await reactions.announce(db, state, owner, target)
    return await _activity_by_id(db, reaction.activity_ap_id)


_PERFORMERS = {
    "Create": _create,
    "Update": _update,
    "Delete": _delete,
    "Follow": _follow,
    "Accept": _accept,
    "Reject": _reject,
    "Undo": _undo,
    "Like": _react,
    "Announce": _react,
}
