"""An initiative's history: one typed ``InitiativeUpdate`` row per change.

Every initiative service writes its change here (``record_update``); the conversation shows
these rows as the initiative's timeline (``conversation.timeline``). A module of its own so
that the services recording history and the conversation that makes commenters supporters
do not need each other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, Initiative, InitiativeUpdate, Task

UPDATE_KINDS = (
    "created",
    "edited",
    "archived",
    "unarchived",
    "phase_changed",
    "date_changed",
    "task_added",
    "task_edited",
    "task_moved",
    "task_completed",
    "task_reopened",
    "task_deleted",
    "contribution_offered",
    "contribution_accepted",
    "contribution_rejected",
    "contribution_withdrawn",
    "partner_requested",
    "partner_joined",
    "supporter_joined",
    "rated",
    "message",
    # A poll about the initiative closed: the decision taken (issue 15, fedi.domain.polls).
    "poll_closed",
)

async def record_update(
    db: AsyncSession,
    initiative: Initiative,
    kind: str,
    actor: Actor | None,
    *,
    task: Task | None = None,
    **payload: Any,
) -> InitiativeUpdate:
    """Write one typed entry into the initiative's history."""
    entry = InitiativeUpdate(
        initiative_id=initiative.id, kind=kind, actor_id=actor.id if actor else None,
        task_id=task.id if task else None, payload=payload,
    )
    if actor is not None:
        entry.actor = actor
    db.add(entry)
    await db.flush()
    return entry
