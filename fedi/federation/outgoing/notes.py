"""Sending what happened to our notes: ``Create``, ``Update`` and ``Delete``.

Subscribers of the note events (``fedi.domain.events_social``). The activity goes to
everyone the note is addressed to. A local tribe takes a new note in the domain
(``fedi.domain.tribe_posts``) and announces it through its own event; an edit or deletion
of a tribe post is announced here, as a remote member's would be.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_create, build_update
from activitypub.timefmt import format_datetime
from activitypub.vocab import AS_CONTEXT
from fedi.domain.events import subscribes
from fedi.domain.events_social import NoteCreated, NoteDeleted, NoteUpdated
from fedi.federation.incoming.tribes import route_object_activity
from fedi.federation.outgoing.publish import publish
from fedi.settings import Settings
from models import utcnow


@subscribes(NoteCreated)
async def on_note_created(db: AsyncSession, settings: Settings, event: NoteCreated) -> None:
    """Send ``Create{Note}`` to everyone the note is addressed to."""
    author, note = event.actor, event.note
    if not author.local:
        return
    doc = dict(note.payload or {})
    create = build_create(
        event.activity_id, author.ap_id, doc, list(doc.get("to") or []), list(doc.get("cc") or [])
    )
    create["@context"] = AS_CONTEXT
    if doc.get("published"):
        create["published"] = doc["published"]
    await publish(db, settings, author, create)


@subscribes(NoteUpdated)
async def on_note_updated(db: AsyncSession, settings: Settings, event: NoteUpdated) -> None:
    """Send ``Update{Note}`` (the whole new version) to everyone who had the note."""
    author, note = event.actor, event.note
    if not author.local:
        return
    update = build_update(
        event.activity_id, author.ap_id, dict(note.payload or {}), list(event.to), list(event.cc)
    )
    update["@context"] = AS_CONTEXT
    update["published"] = format_datetime(note.updated or utcnow())
    outbox = await publish(db, settings, author, update)
    await route_object_activity(db, settings, author, outbox.payload, note.ap_id)


@subscribes(NoteDeleted)
async def on_note_deleted(db: AsyncSession, settings: Settings, event: NoteDeleted) -> None:
    """Send ``Delete`` to everyone the note reached; tribes announce it and drop the post."""
    author, note = event.actor, event.note
    if not author.local:
        return
    delete = {
        "@context": AS_CONTEXT,
        "id": event.activity_id,
        "type": "Delete",
        "actor": author.ap_id,
        # Mastodon wraps the id in a Tombstone; Lemmy sends a bare id. We send Mastodon's
        # shape and accept both.
        "object": {"id": note.ap_id, "type": "Tombstone"},
        "to": list(event.to),
        "cc": list(event.cc),
        "published": format_datetime(note.deleted_at or utcnow()),
    }
    outbox = await publish(db, settings, author, delete)
    await route_object_activity(db, settings, author, outbox.payload, note.ap_id)
