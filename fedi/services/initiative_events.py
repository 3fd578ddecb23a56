"""Hooks called after every change to an initiative: where its federation plugs in.

The initiative services call these *after* the change is flushed, inside the same
transaction, so whatever a hook writes (``publish`` rows, deliveries) commits or rolls back
with the change. Today they do nothing; the initiatives federation code fills them in with
``fedi.federation.publish.publish`` and the tribe's ``distribute`` (FEP-1b12). A hook must
not raise for an ordinary change: that would undo the change.

Each hook is only called for a change made *here* (``origin_local``): when an inbound
handler applies a remote activity it passes ``federate=False`` to the service, and the
hook is skipped, so an activity is never echoed back to where it came from.

The activities each hook will send (ids: initiative ``{base}/initiatives/<id>``, task
``.../tasks/<id>``, contribution ``.../contributions/<id>``, message ``.../updates/<id>``,
comment ``.../comments/<id>``):

=====================  ==========================================================================
hook                   activity
=====================  ==========================================================================
initiative_created     ``Create{Page}`` by the creator, to ``[tribe, Public]`` (``members``: tribe
                       only; ``private``: the partners), ``audience`` tribe; the tribe announces it
initiative_updated     ``Update{Page}`` to the same audience
initiative_archived    ``Update{Page}`` with our ``archived`` term set or cleared
initiative_deleted     ``Delete{Tombstone}``; the id then answers 410 with the Tombstone
task_created           ``Create{Ticket}`` with ``context`` = the initiative, ``isResolved`` false
task_updated           ``Update{Ticket}`` (name, description, lane, position, due date)
task_resolved          ``Resolve{Ticket}`` (our term; ``isResolved`` true in the object)
task_reopened          ``Undo{Resolve}``
task_deleted           ``Delete{Tombstone}`` of the ticket
contribution_offered   ``Offer{object: contribution, target: task}`` to the partners
contribution_decided   ``Accept{Offer}`` or ``Reject{Offer}`` to the offerer, cc the tribe
contribution_withdrawn ``Undo{Offer}``
contribution_rated     ``Create{Review}``-like object (our term), to the contributor
supported              ``Like{Page}`` (``Follow`` of the Page when it came in that way)
unsupported            ``Undo{Like}`` / ``Undo{Follow}``
partner_requested      ``Join{Page}`` to the partners
partner_decided        ``Accept{Join}`` / ``Reject{Join}``; ``Add{person, target: partners}``
message_posted         ``Create{Note}`` (``context`` initiative, ``inReplyTo`` the Page)
comment_created        ``Create{Note}`` with ``inReplyTo`` the update, task or comment
comment_updated        ``Update{Note}``
comment_deleted        ``Delete{Tombstone}``
=====================  ==========================================================================
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.settings import Settings
from models import (
    Actor,
    Comment,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeUpdate,
    Rating,
    Task,
)


async def initiative_created(db: AsyncSession, settings: Settings, initiative: Initiative) -> None:
    """A new initiative (send ``Create{Page}`` to the tribe, which announces it)."""


async def initiative_updated(db: AsyncSession, settings: Settings, initiative: Initiative) -> None:
    """Fields of an initiative changed (send ``Update{Page}``)."""


async def initiative_archived(
    db: AsyncSession, settings: Settings, initiative: Initiative, archived: bool
) -> None:
    """It was archived (``archived``) or taken out of the archive (send ``Update{Page}``)."""


async def initiative_deleted(db: AsyncSession, settings: Settings, initiative: Initiative) -> None:
    """It was deleted; ``deleted_at`` is set (send ``Delete`` with a ``Tombstone``)."""


async def task_created(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> None:
    """A task was added (send ``Create{Ticket}`` in the initiative's context)."""


async def task_updated(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> None:
    """A task was edited or moved (send ``Update{Ticket}``)."""


async def task_resolved(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> None:
    """A task was completed (send ``Resolve{Ticket}``)."""


async def task_reopened(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> None:
    """A completed task was reopened (send ``Undo{Resolve}``)."""


async def task_deleted(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> None:
    """A task was deleted; the row is gone from the session (send ``Delete{Tombstone}``)."""


async def contribution_offered(
    db: AsyncSession, settings: Settings, initiative: Initiative, contribution: Contribution
) -> None:
    """Someone offered a contribution (a local offerer sends ``Offer``)."""


async def contribution_decided(
    db: AsyncSession, settings: Settings, initiative: Initiative, contribution: Contribution
) -> None:
    """A partner accepted or rejected an offer (``Accept{Offer}`` / ``Reject{Offer}``)."""


async def contribution_withdrawn(
    db: AsyncSession, settings: Settings, initiative: Initiative, contribution: Contribution
) -> None:
    """The offerer withdrew their offer (``Undo{Offer}``)."""


async def contribution_rated(
    db: AsyncSession, settings: Settings, initiative: Initiative, rating: Rating
) -> None:
    """A partner rated an accepted contribution."""


async def supported(
    db: AsyncSession, settings: Settings, initiative: Initiative, actor: Actor
) -> None:
    """``actor`` became a supporter (a local one sends ``Like{Page}``)."""


async def unsupported(
    db: AsyncSession, settings: Settings, initiative: Initiative, actor: Actor
) -> None:
    """``actor`` stopped supporting (``Undo{Like}``)."""


async def partner_requested(
    db: AsyncSession, settings: Settings, initiative: Initiative, partner: InitiativePartner
) -> None:
    """Someone asked to become a partner (``Join{Page}``)."""


async def partner_decided(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: InitiativePartner,
    accepted: bool,
) -> None:
    """A partner request was accepted (``Accept{Join}``) or declined (``Reject{Join}``).

    Also called with ``accepted=True`` when an accepted contribution made someone a partner.
    """


async def message_posted(
    db: AsyncSession, settings: Settings, initiative: Initiative, update: InitiativeUpdate
) -> None:
    """A free message was posted in the initiative (``Create{Note}``)."""


async def comment_created(
    db: AsyncSession, settings: Settings, initiative: Initiative, comment: Comment
) -> None:
    """A comment was posted (``Create{Note}`` with ``inReplyTo``)."""


async def comment_updated(
    db: AsyncSession, settings: Settings, initiative: Initiative, comment: Comment
) -> None:
    """A comment was edited (``Update{Note}``)."""


async def comment_deleted(
    db: AsyncSession, settings: Settings, initiative: Initiative, comment: Comment
) -> None:
    """A comment was deleted (``Delete{Tombstone}``)."""
