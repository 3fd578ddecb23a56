"""Initiative changes as live messages: what an initiative's open pages should show next.

Subscribes to the domain events of ``fedi.domain.events_initiatives`` (the same events the
federation layer turns into activities) and queues one :class:`~fedi.live.hub.LiveMessage`
per change on the topic ``initiative:<id>``, published once the change commits. A change
that moves the numbers of the progress figure (tasks, offers, partners, supporters) is
followed by a ``progress`` message.

Messages carry ids and kinds only: the page that receives one reads what it may show from
the server with the viewer's own permissions (``fedi.http.web.live``), so nothing hidden
travels in a message. Changes an incoming activity applied (a remote ``actor``) are live too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.events import subscribes
from fedi.domain.events_initiatives import (
    CommentCreated,
    CommentDeleted,
    CommentEvent,
    CommentUpdated,
    ContributionDecided,
    ContributionEvent,
    ContributionOffered,
    ContributionRated,
    ContributionWithdrawn,
    InitiativeArchived,
    InitiativeDeleted,
    InitiativeEvent,
    InitiativeUpdated,
    MessagePosted,
    PartnerEvent,
    Supported,
    TaskCreated,
    TaskDeleted,
    TaskEvent,
    TaskReopened,
    TaskResolved,
    TaskUpdated,
    Unsupported,
)
from fedi.live.hub import LiveMessage, queue
from fedi.settings import Settings

__all__ = ["initiative_topic", "message_for"]

_TASK_CHANGES: dict[type[TaskEvent], str] = {
    TaskCreated: "added", TaskUpdated: "changed", TaskResolved: "done",
    TaskReopened: "reopened", TaskDeleted: "deleted",
}
_OFFER_CHANGES: dict[type[ContributionEvent], str] = {
    ContributionOffered: "offered", ContributionDecided: "decided",
    ContributionWithdrawn: "withdrawn",
}
_COMMENT_CHANGES: dict[type[CommentEvent], str] = {
    CommentCreated: "added", CommentUpdated: "edited", CommentDeleted: "deleted",
}


def initiative_topic(initiative_id: int) -> str:
    """The topic an initiative's pages watch."""
    return f"initiative:{initiative_id}"


def _id_of(row: Any) -> int | None:
    # A deleted task is gone from the session but keeps the id it was loaded with.
    value = getattr(row, "id", None)
    return value if isinstance(value, int) else None


def message_for(event: InitiativeEvent) -> tuple[str, dict[str, Any], bool] | None:
    """The live ``(kind, data, moves_progress)`` of an initiative event, or None."""
    if isinstance(event, MessagePosted):
        return "message", {"update_id": event.update.id}, False
    if isinstance(event, CommentEvent):
        comment = event.comment
        return "comment", {
            "comment_id": comment.id, "update_id": comment.update_id,
            "task_id": comment.task_id, "change": _COMMENT_CHANGES.get(type(event), "changed"),
        }, False
    if isinstance(event, TaskEvent):
        return "task", {
            "task_id": _id_of(event.task), "change": _TASK_CHANGES.get(type(event), "changed"),
        }, True
    if isinstance(event, ContributionEvent):
        offer = event.contribution
        return "offer", {
            "contribution_id": offer.id, "task_id": offer.task_id, "state": offer.state,
            "change": _OFFER_CHANGES.get(type(event), "changed"),
        }, True
    if isinstance(event, ContributionRated):
        return "offer", {"change": "rated"}, False
    if isinstance(event, (Supported, Unsupported, PartnerEvent)):
        return "people", {"change": type(event).__name__.lower()}, True
    if isinstance(event, InitiativeDeleted):
        return "initiative", {"change": "deleted"}, False
    if isinstance(event, InitiativeArchived):
        return "initiative", {"change": "archived" if event.archived else "unarchived"}, False
    if isinstance(event, InitiativeUpdated):
        return "initiative", {"change": "edited"}, True
    return None


@subscribes(InitiativeEvent)
async def _initiative_changed(
    db: AsyncSession, _settings: Settings, event: InitiativeEvent
) -> None:
    """Queue the live messages of one initiative change (sent when it commits)."""
    found = message_for(event)
    if found is None:
        return
    kind, data, moves_progress = found
    topic = initiative_topic(event.initiative.id)
    queue(db, LiveMessage(topic, kind, data))
    if moves_progress:
        queue(db, LiveMessage(topic, "progress", {}))
