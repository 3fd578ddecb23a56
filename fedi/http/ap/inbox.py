"""The inboxes: ``POST /inbox`` (shared), ``/users/<u>/inbox`` and ``/actor/inbox``.

The accept path does only what must happen before answering, cheapest check first: size
(413), JSON (400), JSON we could not store (nested too deeply, a NUL character: 400), an
unusable ``id``/``actor``/``type`` (400), an actor of ours (403: our
own activities never come through an inbox, so it is forged), blocked domain (403), HTTP
signature (401), origin rules (401/403), the signer's domain's allowance
(429, inbox_limit), then one ``INSERT ... ON CONFLICT DO NOTHING`` keyed
on the activity id (grouped with concurrent requests into one commit by ``inbox_writer``) and
202. Everything else
(fetching objects, changing state, replying) is the inbox worker's job, so a slow or hostile
sender costs us one small row. The owner reads their inbox with a bearer token (C2S).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from quart import Blueprint, Response, request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import ordered_collection, ordered_collection_page
from activitypub.checks import BadRequest, OriginError, check_activity_origin, parse_json_body
from activitypub.http_signatures import KeyUnavailable, SignatureError, verify_request
from activitypub.normalize import Malformed, check_limits, normalize_activity
from activitypub.sigparams import parse_signature_header
from activitypub.vocab import as_list, host_of, id_of
from fedi.domain.tokens import authenticate_token
from fedi.federation.incoming.registry import LOCAL_ACTOR_REFUSED
from fedi.federation.runtime import get_federation
from fedi.http.ap.actors import activity_json_response
from fedi.http.ap.inbox_limit import inbox_limiter
from fedi.http.ap.inbox_writer import inbox_writer
from fedi.http.web.csrf import csrf_exempt
from fedi.state import AppState, get_state
from models import Actor, InboxEntry

__all__ = ["PAGE_SIZE", "blueprint", "request_target_uri"]

log = logging.getLogger(__name__)
blueprint = Blueprint("inbox", __name__)

PAGE_SIZE = 20
MAX_ID_LENGTH = 2048


def _error(status: int, message: str) -> Response:
    return Response(
        orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


def _accepted() -> Response:
    return Response(b"", status=202)


def request_target_uri(base_url: str) -> str:
    """The full URL the sender signed: our configured base URL plus the raw path and query.

    Built from settings rather than the Host header, so a reverse proxy that rewrites Host
    (or a forged Host) cannot change what the signature is checked against.
    """
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) and raw_path else request.path
    path = path.split("?", 1)[0]
    query = request.query_string.decode("latin-1")
    return base_url + path + (f"?{query}" if query else "")


async def _read_body(limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed ``limit`` bytes."""
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


def _key_host() -> str | None:
    raw = request.headers.get("Signature")
    if not raw:
        return None
    try:
        key_id = parse_signature_header(raw).get("keyId")
    except Exception:  # malformed: the signature check answers it properly
        return None
    return host_of(key_id) if key_id else None


def _first_type(activity: dict[str, Any]) -> str:
    for kind in as_list(activity.get("type")):
        if isinstance(kind, str) and kind:
            return kind[:64]
    return ""


def _unusable(activity: dict[str, Any]) -> str | None:
    """Why the activity's own ``id``, ``actor`` or ``type`` can never be used, or None.

    Refused here, with a 400 the sender sees, rather than accepted and then ignored. Only
    these three are checked (with the normaliser's rules, on a copy holding just them): the
    rest of the payload is the worker's to read, and an odd object is recorded there.
    """
    head = {key: activity.get(key) for key in ("id", "type", "actor")}
    try:
        normalize_activity(head)
    except Malformed as exc:
        return f"unusable activity: {exc}"
    return None


async def _actor_known(state: AppState, actor_id: str) -> bool:
    async with state.db.session() as db:
        return (await db.scalar(select(Actor.id).where(Actor.ap_id == actor_id))) is not None


async def receive(username: str | None) -> Response:
    """Check and store one POSTed activity; the whole accept path of every inbox.

    Counted in ``wakeup.accepting`` while it runs: the in-process workers wait for it.
    """
    wakeup = get_federation(get_state()).wakeup
    wakeup.accept_started()
    try:
        return await _receive(username)
    finally:
        wakeup.accept_finished()


async def _receive(username: str | None) -> Response:
    state = get_state()
    settings = state.settings
    body = await _read_body(settings.max_body_bytes)
    if body is None:
        return _error(413, f"body larger than {settings.max_body_bytes} bytes")
    try:
        activity = parse_json_body(body, settings.max_body_bytes)
    except BadRequest as exc:
        return _error(exc.status, str(exc))
    try:
        # Checked before anything is stored: a row that cannot be written would be a 500.
        check_limits(activity)
    except Malformed as exc:
        return _error(400, str(exc))
    problem = _unusable(activity)
    if problem:
        return _error(400, problem)
    activity_id = id_of(activity.get("id"))
    actor_id = id_of(activity.get("actor"))
    if not activity_id or not actor_id:
        return _error(400, "activity needs an id and an actor")
    if len(activity_id) > MAX_ID_LENGTH or len(actor_id) > MAX_ID_LENGTH:
        return _error(400, "id too long")
    if settings.is_local_id(actor_id):
        # Our own activities never come through an inbox (publish applies their local
        # effects directly): one naming a local actor can only be forged.
        return _error(403, LOCAL_ACTOR_REFUSED)
    kind = _first_type(activity)
    hosts = {host_of(actor_id)}
    key_host = _key_host()
    if key_host:
        hosts.add(key_host)
    if await inbox_writer(state).blocked(hosts):
        return _error(403, "domain blocked")

    self_delete = kind == "Delete" and id_of(activity.get("object")) == actor_id
    if self_delete and not await _actor_known(state, actor_id):
        # Mastodon sends a Delete of every deleted account to every server it ever talked
        # to, signed with a key that is already gone. For an actor we never knew there is
        # nothing to delete and nothing to fetch: accept and drop it.
        return _accepted()

    federation = get_federation(state)
    try:
        verified = await verify_request(
            request.method,
            request_target_uri(settings.base_url),
            dict(request.headers),
            body,
            federation.key_cache.resolve,
        )
    except KeyUnavailable as exc:
        if kind == "Delete":
            # The key fetch failed (typically 410 Gone): the actor no longer exists, which
            # is what the Delete says. Acknowledge quietly so the sender stops retrying.
            log.info("dropping Delete %s: key unavailable (%s)", activity_id, exc)
            return _accepted()
        return _error(401, f"signature: {exc}")
    except SignatureError as exc:
        return _error(401, f"signature: {exc}")
    try:
        check_activity_origin(activity, verified.owner)
    except OriginError as exc:
        return _error(exc.status, str(exc))
    wait = inbox_limiter(state).hit(host_of(verified.owner) or verified.owner)
    if wait is not None:
        response = _error(429, "too many activities from your server; slow down")
        response.headers["Retry-After"] = str(wait)
        return response

    if username is not None:
        async with state.db.session() as db:
            if not await _local_actor_id(db, username):
                return _error(404, "no such inbox")
    # Grouped with the rows of concurrent requests into one transaction (see inbox_writer);
    # returns only once this row is committed, so a 202 is never lost.
    await inbox_writer(state).store(
        {
            "ap_id": activity_id,
            "type": kind,
            "actor_ap_id": actor_id,
            "payload": activity,
            "signed_by": verified.owner,
        }
    )
    federation.wakeup.inbox.set()
    return _accepted()


async def _local_actor_id(db: AsyncSession, username: str) -> int | None:
    return await db.scalar(
        select(Actor.id).where(Actor.local.is_(True), Actor.username == username.lower())
    )


@blueprint.post("/inbox")
@csrf_exempt
async def shared_inbox() -> Response:
    """The shared inbox every local actor advertises in ``endpoints.sharedInbox``."""
    return await receive(None)


@blueprint.post("/actor/inbox")
@csrf_exempt
async def instance_inbox() -> Response:
    """The instance actor's inbox (it behaves as the shared inbox)."""
    return await receive(None)


@blueprint.post("/users/<username>/inbox")
@csrf_exempt
async def user_inbox(username: str) -> Response:
    """A person's own inbox."""
    return await receive(username)


# ---------------------------------------------------------------- C2S reading


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@blueprint.get("/users/<username>/inbox")
async def read_inbox(username: str) -> Response:
    """The owner's inbox as a paged ``OrderedCollection``, newest first (bearer token)."""
    state = get_state()
    settings = state.settings
    token = _bearer_token()
    if token is None:
        response = _error(401, "a bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="inbox"'
        return response
    async with state.db.session() as db:
        user = await authenticate_token(db, token)
        if user is None:
            return _error(401, "invalid token")
        owner_id = await _local_actor_id(db, username)
        if owner_id is None:
            return _error(404, "no such inbox")
        if user.actor_id != owner_id:
            return _error(403, "this is not your inbox")
        base = settings.url(f"/users/{username.lower()}/inbox")
        total = await db.scalar(
            select(func.count()).select_from(InboxEntry).where(InboxEntry.actor_id == owner_id)
        )
        page_arg = request.args.get("page")
        if page_arg is None:
            return activity_json_response(
                ordered_collection(base, int(total or 0), first=f"{base}?page=1")
            )
        try:
            page = max(1, int(page_arg))
        except ValueError:
            return _error(400, "page must be a number")
        rows = await db.scalars(
            select(InboxEntry.payload)
            .where(InboxEntry.actor_id == owner_id)
            .order_by(InboxEntry.created_at.desc(), InboxEntry.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        items = list(rows)
    has_next = len(items) > PAGE_SIZE
    return activity_json_response(
        ordered_collection_page(
            f"{base}?page={page}",
            base,
            items[:PAGE_SIZE],
            next=f"{base}?page={page + 1}" if has_next else None,
            prev=f"{base}?page={page - 1}" if page > 1 else None,
        )
    )
