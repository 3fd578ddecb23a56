"""Remote posts: reading, checking and storing an object another server sent or we fetched.

Parsed once, here at the edge, by ``activitypub.normalize`` (``type`` arrays, ``contentMap``,
lists where one value is usual, embedded authors, malformed documents). A post is any type
Mastodon shows as a status (``domain.notes.NOTE_TYPES``). A stored remote post keeps the
sanitised fields we show and the document as received, minus ``bto``/``bcc``: the local
people it reached only that way are kept in ``domain.notes.PRIVATE_RECIPIENTS``, so exactly
they can see it. :class:`NotStorable` says why an object cannot be kept (never retried).

This module knows nothing of tribes or initiatives: ``incoming.notes`` (receiving), tribes
(announced posts, reply parents) and reactions (liked posts) all store posts through it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from html import escape
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.fetcher import FetchError
from activitypub.normalize import AsObject, Malformed, normalize_object
from activitypub.vocab import HIDDEN_FIELDS, host_of, id_of
from fedi.domain.errors import NotFound
from fedi.domain.notes import (
    NOTE_TYPES,
    OBJECT_MEMO,
    PRIVATE_RECIPIENTS,
    lookup_object,
    tombstone,
    visibility_from,
)
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor
from fedi.federation.remote.memo import current_memo
from fedi.federation.runtime import get_federation
from fedi.settings import Settings
from fedi.state import AppState
from fedi.text import plain_text, sanitize_remote_html
from models import Actor, ApObject, Reaction, utcnow

log = logging.getLogger(__name__)

# The length of the objects table's URL columns (the normaliser allows longer URLs).
MAX_URL = 2048


class NotStorable(Exception):
    """A remote object we cannot keep as a post; ``str(exc)`` says why (permanent)."""


def parse_post(doc: Any) -> AsObject:
    """``doc`` read by the normaliser; :class:`NotStorable` when it never can be."""
    memo = current_memo()
    read = memo.parsed_object(doc) if memo is not None else None
    if read is not None:
        return read  # the worker's prepare read this very object already
    try:
        return normalize_object(doc)
    except Malformed as exc:
        raise NotStorable(f"malformed object: {exc.reason}") from exc


def post_kind(obj: AsObject) -> str | None:
    """The first of the object's types we show as a post (``["Note", "Article"]`` -> Note)."""
    return next((kind for kind in obj.types if kind in NOTE_TYPES), None)


def _author_matches(obj: AsObject, sender: Actor) -> bool:
    """Whether ``sender`` wrote ``obj``: its first ``attributedTo``, or Mobilizon's
    ``actor`` (the organiser of an event whose ``attributedTo`` is the group)."""
    if obj.attributed_to and obj.attributed_to[0] == sender.ap_id:
        return True
    return id_of(obj.raw.get("actor")) == sender.ap_id


def refusal(obj: AsObject, author: Actor) -> str | None:
    """Why ``obj`` cannot be stored as a post written by ``author`` (None: it can)."""
    if obj.id is None:
        return "object has no id"
    if len(obj.id) > MAX_URL:
        return f"object id longer than {MAX_URL} characters"
    if post_kind(obj) is None:
        return f"object type {'/'.join(obj.types)} is not shown as a post"
    if host_of(obj.id) != host_of(author.ap_id):
        return f"object {obj.id} is not on the host of {author.ap_id}"
    if not _author_matches(obj, author):
        return f"{author.ap_id} is not the author of {obj.id}"
    return None


def local_blind_recipients(settings: Settings, *docs: AsObject | None) -> list[str]:
    """Ids of ours named in ``bto``/``bcc`` of the object (or its activity)."""
    out: dict[str, None] = {}
    for doc in docs:
        if doc is None:
            continue
        for ident in (*doc.bto, *doc.bcc):
            if settings.is_local_id(ident):
                out[ident] = None
    return list(out)


def _content_html(obj: AsObject) -> str:
    """The post's text: ``content`` (or ``contentMap``), else the ``name`` of a media
    object without text (a Pixelfed image, a PeerTube video), as Mastodon shows it."""
    html = sanitize_remote_html(obj.content) if obj.content else ""
    if not plain_text(html).strip() and obj.name:
        name = escape(plain_text(obj.name, 500), quote=False)
        return sanitize_remote_html(f"<p>{name}</p>")
    return html


def types_in(doc: dict[str, Any]) -> list[str]:
    """The strings of ``doc``'s ``type`` (a string or an array), unchecked."""
    kinds = doc.get("type")
    return [k for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)]


def store_fields(
    row: ApObject, obj: AsObject, author: Actor, private_to: Iterable[str] = ()
) -> None:
    """Copy what we show of ``obj`` into ``row`` (a new post, or an edit of a stored one)."""
    row.type = post_kind(obj) or obj.kind[:32]
    row.name = plain_text(obj.name, 500) if obj.name else None
    row.summary = sanitize_remote_html(obj.summary) if obj.summary else None
    row.content_html = _content_html(obj)
    row.source = obj.source
    row.url = obj.url if obj.url and len(obj.url) <= MAX_URL else row.ap_id
    # A parent id too long to keep: the post is shown on its own rather than lost.
    reply_to = obj.in_reply_to
    row.in_reply_to = reply_to if reply_to and len(reply_to) <= MAX_URL else None
    context = obj.context or obj.conversation
    row.context = context[:MAX_URL] if context else None
    row.visibility = visibility_from(list(obj.to), list(obj.cc), author.followers_url)
    kept = list((row.payload or {}).get(PRIVATE_RECIPIENTS) or [])
    kept += [ident for ident in private_to if ident not in kept]
    # Never kept in a stored document: blind recipients are private to the sender (AS2 5.1).
    payload = {k: v for k, v in obj.raw.items() if k != "@context" and k not in HIDDEN_FIELDS}
    if kept:
        payload[PRIVATE_RECIPIENTS] = kept
    row.payload = payload


async def store_remote_object(
    db: AsyncSession,
    author: Actor,
    doc: dict[str, Any] | AsObject,
    *,
    private_to: Iterable[str] = (),
) -> ApObject | None:
    """Store (or return the stored) remote object ``doc`` written by ``author``.

    Refused (None) unless it is a post, its id is on the author's host and the author wrote
    it (anyone else's claims about an object are not trusted); :func:`store_post` says why.
    ``private_to`` lists local ids it reached only through ``bto``/``bcc``.
    """
    try:
        return await store_post(db, author, doc, private_to=private_to)
    except NotStorable as exc:
        log.info("object not stored: %s", exc)
        return None


async def store_post(
    db: AsyncSession,
    author: Actor,
    doc: dict[str, Any] | AsObject,
    *,
    private_to: Iterable[str] = (),
) -> ApObject:
    """:func:`store_remote_object`, raising :class:`NotStorable` with the reason."""
    obj = doc if isinstance(doc, AsObject) else parse_post(doc)
    why = refusal(obj, author)
    if why is not None:
        raise NotStorable(why)
    assert obj.id is not None  # refusal() checked it
    existing = await lookup_object(db, obj.id)
    if existing is not None:
        return existing
    row = ApObject(ap_id=obj.id, local=False, attributed_to_id=author.id, payload={}, type="Note")
    store_fields(row, obj, author, private_to)
    row.published = obj.published or utcnow()
    db.add(row)
    await db.flush()
    # A Mobilizon-style Event is also kept as a meetup, listed and joinable (issue 15).
    await meetup_inbound.remember_event(db, author, obj)
    memo = db.info.get(OBJECT_MEMO)
    if memo is not None:
        memo[obj.id] = row
    return row


async def fetch_json(state: AppState, url: str) -> dict[str, Any]:
    """``url`` fetched from its origin, signed by the instance actor."""
    return await get_federation(state).fetcher.fetch_json(url)


async def get_or_fetch_object(db: AsyncSession, state: AppState, ap_id: str) -> ApObject:
    """An object by id: from our table, else fetched from its origin and stored.

    Raises NotFound when it cannot be fetched or is not a post we can store.
    """
    # Memoised per inbox item: a thread walk asks about the same parents more than once.
    found = await lookup_object(db, ap_id)
    if found is not None:
        return found
    if host_of(ap_id) == state.settings.host:
        raise NotFound("This note does not exist.")
    try:
        obj = parse_post(await fetch_json(state, ap_id))
        if not obj.attributed_to:
            raise NotFound("This object has no author.")
        author = await get_or_fetch_actor(state, db, obj.attributed_to[0])
        return await store_post(db, author, obj)
    except (FetchError, ActorUnavailable, NotStorable) as exc:
        log.warning("fetch of %s failed: %r", ap_id, exc)
        raise NotFound("This object could not be fetched.") from exc


async def apply_edit(
    db: AsyncSession,
    settings: Settings,
    author: Actor,
    row: ApObject,
    doc: Any,
    *,
    blind: AsObject | None = None,
) -> None:
    """Apply ``doc``, the new version of the stored remote post ``row`` by ``author``.

    Raises :class:`NotStorable` when the new version is not a post of ``author``.
    ``blind`` is the activity's own addressing (its ``bto``/``bcc`` count too).
    """
    obj = parse_post(doc)
    why = refusal(obj, author)
    if why is not None:
        raise NotStorable(why)
    store_fields(row, obj, author, local_blind_recipients(settings, obj, blind))
    row.updated = obj.updated or utcnow()
    await db.flush()
    await meetup_inbound.remember_event(db, author, obj)


async def apply_delete(db: AsyncSession, row: ApObject) -> None:
    """Tombstone the stored remote post ``row`` and drop the reactions to it."""
    if row.type == "Event":
        await meetup_inbound.forget_event(db, row.ap_id)
    if row.deleted_at is None:
        tombstone(row, utcnow())
        await db.execute(delete(Reaction).where(Reaction.object_ap_id == row.ap_id))
        await db.flush()
