"""Incoming notes: the posts other servers send, their edits and their deletions.

``Create`` checks that the object lives on the sender's host and hands it to the receiver
registered for its type (``object_receivers``); notes register every type Mastodon shows as
a status (``domain.notes.NOTE_TYPES``: Note, Article, Page, Question, Image, Video, Audio,
Document, Event). Reading and storing the object is ``incoming.posts`` (parsed once by the
normaliser); here the post is then routed to the tribes it belongs to (without its
``bto``/``bcc``), and the local people a private message reached are notified.

The sender is always remote (the inbox worker refuses a local actor: our own notes never come
through the inbox), so every note, edit and deletion handled here is another server's.
Whatever cannot be stored raises ``Ignore`` with the reason (recorded on the inbox item,
never retried); nothing valid is accepted and then silently dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.normalize import AsObject, Malformed, normalize_object
from activitypub.vocab import (
    ACTOR_TYPES,
    HIDDEN_FIELDS,
    host_of,
    id_of,
    without_hidden_recipients,
)
from fedi.domain import notifications
from fedi.domain.account_deletion import forget_person
from fedi.domain.notes import NOTE_TYPES, PRIVATE_RECIPIENTS, lookup_object
from fedi.federation.incoming.object_receivers import receiver_for, register_object_receiver
from fedi.federation.incoming.posts import (
    NotStorable,
    apply_delete,
    apply_edit,
    fetch_json,
    get_or_fetch_object,
    local_blind_recipients,
    parse_post,
    store_post,
    store_remote_object,
    types_in,
)
from fedi.federation.incoming.registry import Ignore
from fedi.federation.incoming.tribes import (
    receive_moderator_delete,
    route_object_activity,
    route_post,
)
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.settings import Settings
from fedi.state import AppState
from fedi.text import plain_text
from models import Actor, ApObject, utcnow

__all__ = [
    "get_or_fetch_object",
    "receive_create",
    "receive_delete",
    "receive_post",
    "receive_update",
    "store_remote_object",
]

log = logging.getLogger(__name__)


async def receive_create(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Any:
    """Handle ``Create`` from ``sender``: check it, then hand the object to its receiver.

    The object must live on the sender's host. A bare id is fetched from its origin; so is
    an embedded copy whose id is on another host (it would then not be the sender's to
    create, and is refused). The receiver is chosen by the first object type that has one
    (``object_receivers.OBJECT_RECEIVERS``; notes register ``NOTE_TYPES`` as defaults, other
    features register their own types). Returns what the receiver stored; raises ``Ignore``
    with the reason when nothing can be stored.
    """
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id:
        raise Ignore("Create without an object id")
    if host_of(object_id) != host_of(sender.ap_id):
        raise Ignore(f"Create of {object_id}, an object not on the sender's host")
    existing = await lookup_object(db, object_id)
    if existing is not None:
        doc = obj if isinstance(obj, dict) else (existing.payload or {})  # a redelivery
    elif isinstance(obj, dict):
        doc = obj
    else:
        doc = await fetch_json(state, object_id)
    if not isinstance(doc, dict):
        raise Ignore(f"object {object_id} is not a JSON object")
    receiver = receiver_for(doc)
    if receiver is None:
        raise Ignore(f"no receiver for objects of type {doc.get('type')!r}"[:300])
    return await receiver(db, state, sender, activity, doc)


@register_object_receiver(*sorted(NOTE_TYPES), default=True)
async def receive_post(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> ApObject | None:
    """Store a post once (sanitised), then let the tribes it belongs to take it.

    A post addressed to a local tribe, or a reply in a tribe thread, is routed by
    ``incoming.tribes.route_post`` (announced, or held for the moderators) without its
    ``bto``/``bcc``. Local people named only in ``bto``/``bcc`` (of the object or the
    activity) may see it, as a private message, and are notified like a direct mention.
    """

    object_id = doc.get("id")
    # A redelivery needs no parsing.
    stored = await lookup_object(db, object_id) if isinstance(object_id, str) else None
    new = stored is None
    if stored is None:
        try:
            obj = parse_post(doc)
            private_to = local_blind_recipients(state.settings, obj, _activity_blind(activity))
            stored = await store_post(db, sender, obj, private_to=private_to)
        except NotStorable as exc:
            raise Ignore(str(exc)) from exc
    if new:
        await _notify_direct(db, state.settings, sender, stored)
    await route_post(db, state, sender, without_hidden_recipients(activity), stored)
    return stored


def _activity_blind(activity: dict[str, Any]) -> AsObject | None:
    """The activity's own ``bto``/``bcc`` read as addressing (None when it has none)."""
    if not any(activity.get(key) for key in HIDDEN_FIELDS):
        return None
    try:
        return normalize_object(
            {k: activity.get(k) for k in ("type", *HIDDEN_FIELDS)}, allow_anonymous=True
        )
    except Malformed:
        return None


async def _notify_direct(
    db: AsyncSession, settings: Settings, sender: Actor, note: ApObject
) -> None:
    """Tell the local people a private message reached (named, or blind-copied)."""
    if note.visibility != "direct":
        return
    payload = note.payload or {}
    named: set[str] = set()
    for key in ("to", "cc", PRIVATE_RECIPIENTS):
        value = payload.get(key)
        for entry in value if isinstance(value, list) else [value]:
            ident = id_of(entry)
            if ident and settings.is_local_id(ident):
                named.add(ident)
    if not named:
        return
    people = await db.scalars(
        select(Actor).where(Actor.local.is_(True), Actor.ap_id.in_(sorted(named)))
    )
    excerpt = plain_text(note.content_html, 80) or note.ap_id
    # The notifications page names where a mention happened from payload["initiative"]
    # ("X mentioned you in ..."): for a message, its first words.
    await notifications.notify(
        db, list(people), "mention", by=sender,
        payload={"initiative": excerpt, "note": note.ap_id},
    )


async def receive_update(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Update``: a note edited by its author, or the sender's own actor document."""
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id:
        return
    if object_id == sender.ap_id:
        await get_or_fetch_actor(state, db, sender.ap_id, refresh=True)
        return
    if isinstance(obj, dict) and any(t in ACTOR_TYPES for t in types_in(obj)):
        raise Ignore(f"Update of another actor {object_id}")
    existing = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if existing is None or existing.deleted_at is not None:
        # Mastodon also drops edits of statuses it never saw: the next fetch shows them.
        raise Ignore(f"Update of {object_id}, which we do not have")
    if existing.attributed_to_id != sender.id or host_of(object_id) != host_of(sender.ap_id):
        raise Ignore(f"Update of {object_id} by {sender.ap_id}, who is not its author")
    if not isinstance(obj, dict):
        obj = await fetch_json(state, object_id)
    try:
        await apply_edit(
            db, state.settings, sender, existing, obj, blind=_activity_blind(activity)
        )
    except NotStorable as exc:
        raise Ignore(f"Update refused: {exc}") from exc
    activity = without_hidden_recipients(activity)
    await _tribes_take(db, state, sender, activity, object_id)


async def _tribes_take(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any], object_id: str
) -> None:
    """Let the tribes that have ``object_id`` as a post announce this edit or deletion."""

    await route_object_activity(db, state.settings, sender, activity, object_id)


async def receive_delete(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Delete``: of a note by its author (keep a Tombstone), or of the sender itself.

    A deleted actor is marked gone, its follows in both directions are dropped and its
    notes are tombstoned, so nothing is delivered to it any more.
    """
    object_id = id_of(activity.get("object"))
    if not object_id:
        return
    now = utcnow()
    if object_id == sender.ap_id:
        # Also its tribe memberships, initiative roles and talents: the same as a local
        # account deletion (fedi.domain.account_deletion), so it leaves every member list.
        await forget_person(db, sender, now)
        return
    existing = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if existing is None:
        return
    if existing.attributed_to_id != sender.id:
        # Lemmy moderators remove a post with a Delete of someone else's object; a tribe
        # honours it when the sender moderates a tribe the post is in.

        if not await receive_moderator_delete(db, state, sender, object_id):
            log.info("Delete of %s by %s refused: not the author", object_id, sender.ap_id)
        return
    await apply_delete(db, existing)
    await _tribes_take(db, state, sender, activity, object_id)
