"""Posts and boosts, told live to the apps watching (the Mastodon streaming API).

This listens to the session, like the hub's own hook for notifications, rather than to the
domain's note events: posts from other servers are stored by the inbox worker without a
domain event (``fedi.federation.incoming.posts.store_post``), and they belong on the
timelines as much as ours do. What a flush adds is queued with :func:`fedi.live.hub.queue`
and so published only once the transaction commits.

Topics (besides the hub's ``person:``/``public``/``public:local``):

* ``author:<actor id>``: everything an account posts or boosts; a person's home stream
  subscribes to those of the accounts they follow, and their own;
* ``hashtag:<name>``: public posts with that hashtag (lower case, without ``#``).

Messages carry ids only; the streaming endpoint reads the status and checks that the
watcher may see it before sending anything:

* ``status`` ``{"object_id": n}``: a new post; ``{"reaction_id": n}``: a new boost;
* ``delete`` ``{"object_id": n}``: a post deleted (its tombstone row stays);
  ``{"reaction_id": n, "created_at": iso}``: a boost taken back (the row is gone).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from activitypub.vocab import as_list
from fedi.domain.notes import NOTE_TYPES
from fedi.live.hub import LiveMessage, queue
from models import ApObject, Reaction

__all__ = ["author_topic", "hashtag_topic", "messages_for_flush", "post_topics"]


def author_topic(actor_id: int) -> str:
    """The topic of everything one account posts and boosts."""
    return f"author:{actor_id}"


def hashtag_topic(name: str) -> str:
    """The topic of public posts with hashtag ``name``."""
    return f"hashtag:{name.lstrip('#').lower()}"


def post_topics(note: ApObject) -> list[str]:
    """The topics a post is told on: its author, and when public, the public streams and
    its hashtags."""
    topics = [author_topic(note.attributed_to_id)] if note.attributed_to_id else []
    if note.visibility == "public":
        topics.append("public")
        if note.local:
            topics.append("public:local")
        for tag in as_list((note.payload or {}).get("tag")):
            if isinstance(tag, dict) and tag.get("type") == "Hashtag" and tag.get("name"):
                topics.append(hashtag_topic(str(tag["name"])))
    return topics


def _was_just_deleted(note: ApObject) -> bool:
    history = inspect(note).attrs.deleted_at.history
    return bool(history.added) and note.deleted_at is not None


def messages_for_flush(session: Session) -> list[LiveMessage]:
    """The live messages of what ``session`` is flushing (new posts and boosts, deleted
    posts, boosts taken back)."""
    out: list[LiveMessage] = []
    for obj in session.new:
        if isinstance(obj, ApObject) and obj.type in NOTE_TYPES and obj.deleted_at is None:
            for topic in post_topics(obj):
                out.append(LiveMessage(topic, "status", {"object_id": obj.id}))
        elif isinstance(obj, Reaction) and obj.kind == "Announce":
            out.append(
                LiveMessage(author_topic(obj.actor_id), "status", {"reaction_id": obj.id})
            )
    for obj in session.dirty:
        if isinstance(obj, ApObject) and _was_just_deleted(obj):
            for topic in post_topics(obj):
                out.append(LiveMessage(topic, "delete", {"object_id": obj.id}))
    for obj in session.deleted:
        if isinstance(obj, Reaction) and obj.kind == "Announce":
            created = obj.created_at.isoformat() if obj.created_at else None
            out.append(
                LiveMessage(
                    author_topic(obj.actor_id), "delete",
                    {"reaction_id": obj.id, "created_at": created},
                )
            )
    return out


@event.listens_for(Session, "after_flush")
def _statuses_are_live(session: Session, _context: Any) -> None:
    """Queue the live messages of this flush (sent when the transaction commits)."""
    messages = messages_for_flush(session)
    if not messages:
        return
    # ``queue`` only keeps the message in the session's ``info`` (shared by the async
    # session and the sync session it wraps), so the sync session of a flush hook will do.
    for message in messages:
        queue(cast(Any, session), message)
