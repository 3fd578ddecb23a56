"""Remote actors: fetching them from their origin and keeping a copy in the actors table.

Everything else (following, addressing, signature keys) works on ``Actor`` rows, so a remote
person is fetched once, upserted, and refreshed when older than a day or when asked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub import webfinger
from activitypub.fetcher import FetchError
from activitypub.vocab import as_list, host_of, id_of
from fedi.dbutil import insert_ignore
from fedi.domain.matching import sync_remote_talents
from fedi.federation.runtime import get_federation
from fedi.settings import Settings
from fedi.state import AppState
from fedi.text import sanitize_remote_html
from models import Actor, utcnow

__all__ = [
    "ActorUnavailable",
    "get_or_fetch_actor",
    "resolve_handle",
    "upsert_actor_document",
]

# How long a fetched actor document is trusted before it is fetched again on use.
REFRESH_AFTER = timedelta(days=1)


class ActorUnavailable(Exception):
    """A remote actor could not be fetched or is not usable; ``gone`` when it was deleted."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        """Create the error; ``gone`` marks a 404/410 from the origin."""
        super().__init__(message)
        self.gone = gone


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _url_of(value: Any) -> str | None:
    # "url" may be a string, a Link, or a list of either (Mastodon sends a string, PeerTube a
    # list of Links with several media types): take the first http(s) href.
    for entry in as_list(value):
        href = id_of(entry)
        if href and href.startswith(("https://", "http://")):
            return href[:2048]
    return None


def _icon_of(doc: dict[str, Any]) -> str | None:
    for entry in as_list(doc.get("icon")):
        if isinstance(entry, dict):
            found = _url_of(entry.get("url"))
            if found:
                return found
        elif isinstance(entry, str):
            return _url_of(entry)
    return None


def _main_key(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    for entry in as_list(doc.get("publicKey")):
        if isinstance(entry, dict) and entry.get("owner") == doc.get("id"):
            pem = entry.get("publicKeyPem")
            if isinstance(entry.get("id"), str) and isinstance(pem, str):
                return entry["id"], pem
    return None, None


def actor_values(doc: dict[str, Any]) -> dict[str, Any]:
    """The actors-table columns for a remote actor document (already validated)."""
    ap_id = str(doc["id"])
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    key_id, pem = _main_key(doc)
    kind = next((t for t in as_list(doc.get("type")) if isinstance(t, str)), "Person")
    username = _text(doc.get("preferredUsername"), 255) or ap_id.rstrip("/").rsplit("/", 1)[-1]
    shared = id_of(endpoints.get("sharedInbox")) if endpoints else None
    return {
        "ap_id": ap_id,
        "type": kind[:32],
        "local": False,
        "username": username[:255],
        "domain": host_of(ap_id),
        "display_name": _text(doc.get("name"), 255),
        "bio_html": sanitize_remote_html(_text(doc.get("summary"), 20_000)),
        "inbox": id_of(doc.get("inbox")) or "",
        "shared_inbox": shared,
        "outbox": id_of(doc.get("outbox")),
        "followers_url": id_of(doc.get("followers")),
        "following_url": id_of(doc.get("following")),
        "key_id": key_id,
        "public_key_pem": pem,
        "icon_url": _icon_of(doc),
        "url": _url_of(doc.get("url")),
        "manually_approves_followers": doc.get("manuallyApprovesFollowers") is True,
        "discoverable": doc.get("discoverable") is not False,
        "raw": doc,
        "fetched_at": utcnow(),
        "gone_at": None,
    }


async def upsert_actor_document(db: AsyncSession, settings: Settings, doc: dict[str, Any]) -> Actor:
    """Insert or update the remote actor described by ``doc`` and return its row.

    The caller must have fetched ``doc`` from its own id's origin (the Fetcher checks that).
    Actors on our own host are never overwritten from outside.
    """
    values = actor_values(doc)
    if values["domain"] == settings.host:
        raise ActorUnavailable(f"{values['ap_id']} claims to be a local actor")
    actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
    if actor is None:
        # Two workers may fetch the same new actor at once; the loser just reads it back.
        await db.execute(
            insert_ignore(db, Actor, ["ap_id"]).values(languages=[], links=[], **values)
        )
        actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
        if actor is None:  # (username, domain) taken by an older id of the same handle
            stale = await db.scalar(
                select(Actor).where(
                    Actor.username == values["username"], Actor.domain == values["domain"]
                )
            )
            if stale is None or stale.local:
                raise ActorUnavailable(f"cannot store actor {values['ap_id']}")
            actor = stale
    for key, value in values.items():
        setattr(actor, key, value)
    await db.flush()
    # Talents travel as Hashtag tags on the actor; copying them lets talent matching
    # suggest remote people for tasks ("who could help").
    await sync_remote_talents(db, actor)
    return actor


# Key in ``AsyncSession.info`` of actors the inbox worker loaded for a whole step of items
# (``fedi.workers.prefetch``); looked at before querying.
ACTOR_MEMO = "actor_memo"
_ACTOR_BY_ID = select(Actor).where(Actor.ap_id == bindparam("ap_id"))
_REMOTE_ACTOR_BY_ID = _ACTOR_BY_ID.options(lazyload(Actor.talents))


async def get_or_fetch_actor(
    state: AppState, db: AsyncSession, ap_id: str, *, refresh: bool = False
) -> Actor:
    """The actor with id ``ap_id``: local ones from the table, remote ones fetched if needed.

    A stored remote actor is returned as is unless ``refresh`` is set or its copy is older
    than a day (a failed background refresh then keeps the old copy). Raises
    :class:`ActorUnavailable` when a needed fetch fails.
    """
    # The inbox asks for the sender of every activity and never needs a remote actor's
    # talents; skipping their eager load halves the cost (ensure_talents_loaded exists for
    # code that does need them). Both statements are built once (see BENCHMARKS.md).
    memo: dict[str, Actor] | None = db.info.get(ACTOR_MEMO)
    actor = memo.get(ap_id) if memo is not None else None
    if actor is None:
        query = _ACTOR_BY_ID if state.settings.is_local_id(ap_id) else _REMOTE_ACTOR_BY_ID
        actor = await db.scalar(query, {"ap_id": ap_id})
    if actor is not None and actor.local:
        return actor
    stale = actor is None or actor.fetched_at is None or (
        utcnow() - actor.fetched_at > REFRESH_AFTER
    )
    if actor is not None and not refresh and not stale:
        return actor
    if host_of(ap_id) == state.settings.host:
        raise ActorUnavailable(f"no local actor {ap_id}")
    federation = get_federation(state)
    try:
        doc = await federation.fetcher.fetch_actor(ap_id)
    except FetchError as exc:
        if actor is not None and not refresh and not exc.gone:
            return actor
        if actor is not None and exc.gone:
            actor.gone_at = utcnow()
        raise ActorUnavailable(f"cannot fetch actor {ap_id}: {exc}", gone=exc.gone) from exc
    updated = await upsert_actor_document(db, state.settings, doc)
    if updated.key_id:
        federation.key_cache.forget(updated.key_id)
    return updated


async def resolve_handle(state: AppState, db: AsyncSession, handle: str) -> Actor:
    """Find ``name@host`` (or ``@name@host``, ``acct:``) through WebFinger and fetch the actor.

    Local handles are answered from the table. Plain http WebFinger is allowed only with
    ``allow_private_network`` (loopback test instances). Raises :class:`ActorUnavailable`.
    """
    try:
        parsed = webfinger.parse_resource(handle)
    except webfinger.WebFingerError as exc:
        raise ActorUnavailable(str(exc)) from exc
    settings = state.settings
    if isinstance(parsed, str):
        return await get_or_fetch_actor(state, db, parsed)
    name, host = parsed
    if host == settings.host:
        local = await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == name.lower())
        )
        if local is None:
            raise ActorUnavailable(f"no local actor {name}")
        return local
    known = await db.scalar(
        select(Actor).where(Actor.username == name, Actor.domain == host, Actor.local.is_(False))
    )
    if known is not None and known.fetched_at and utcnow() - known.fetched_at < REFRESH_AFTER:
        return known
    if state.http is None:
        raise ActorUnavailable("no HTTP client (the app is not serving)")
    policy = get_federation(state).policy
    try:
        scheme = "http" if settings.allow_private_network else "https"
        await policy.check(f"{scheme}://{host}/.well-known/webfinger")
        actor_id = await webfinger.lookup(
            handle, state.http, allow_http=settings.allow_private_network
        )
        await policy.check(actor_id)
    except Exception as exc:  # WebFingerError, UrlRefused
        raise ActorUnavailable(f"cannot resolve {handle}: {exc}") from exc
    return await get_or_fetch_actor(state, db, actor_id, refresh=True)
