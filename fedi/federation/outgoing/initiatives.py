"""Subscribers to the initiative domain events: where an initiative's federation plugs in.

The initiative services emit an event (``fedi.domain.events_initiatives``) *after* the
change is flushed, inside the same transaction, so whatever a subscriber writes
(``publish`` rows, deliveries, the tribe's announces) commits or rolls back with the
change. A subscriber must not raise for an ordinary change: that would undo the change.

Only a change a *local* person made is sent (the event's ``actor``): when an inbound
handler applies a remote activity the actor is the remote sender, and we never send on
behalf of another server, so an activity is never echoed back to where it came from. The
tribe's announce of such a received activity is made by the receiving side
(``fedi.federation.incoming.initiatives.after_apply``), not here. One exception runs for
every actor: an initiative made narrower than public withdraws our public traces of it
(local bookkeeping, ``withdraw_public_traces``).

Who sends: the local person who made the change (the creator for edits of the ``Page`` when
the creator is ours, because Mastodon honours an ``Update`` only from the object's author).
Where it goes: ``to``/``cc`` as the initiative's visibility allows (public: the tribe and
Public; members: the tribe; private: the partners), always ``cc`` the active partners, so
the server hosting the initiative and every partner's server hear of it. When the tribe is
ours, the tribe then announces the activity itself (FEP-1b12); when the tribe is elsewhere,
its server does that on receipt. A public initiative is announced to the tribe's followers
and Public (``tribe_distribution.distribute``); a restricted one only to the people who may
see it (``distribute_restricted``: the tribe's members and the partners, or the partners),
never to Public, never boosted, and kept out of the tribe's outbox. Ids: initiative
``{base}/initiatives/<id>``, task ``.../tasks/<id>``, contribution
``.../contributions/<id>``, message ``.../updates/<id>``, comment ``.../comments/<id>``.
Every activity carries ``audience`` = the tribe and ``context`` = the initiative.

=====================  ==========================================================================
event                  activity (boost = the tribe also sends ``Announce{object id}``)
=====================  ==========================================================================
InitiativeCreated      ``Create{Page}`` by the creator (boost)
InitiativeUpdated      ``Update{Page}``
InitiativeArchived     ``Update{Page}`` with our ``archived`` term true / false
InitiativeDeleted      ``Delete{Tombstone}``; the id then answers 410 with the Tombstone
TaskCreated            ``Create{Ticket}`` with ``context`` = the initiative, ``isResolved`` false
TaskUpdated            ``Update{Ticket}`` (name, description, lane, position, due date)
TaskResolved           ``Update{Ticket}`` with ``isResolved`` true (decided: an Update, not a
                       ForgeFed ``Resolve``, so one receiver handles every task change)
TaskReopened           ``Update{Ticket}`` with ``isResolved`` false
TaskDeleted            ``Delete{Tombstone}`` of the ticket
ContributionOffered    ``Offer{object: Contribution, target: task}`` to the partners
ContributionDecided    ``Accept{Offer}`` / ``Reject{Offer}`` to the offerer, cc tribe and partners
ContributionWithdrawn  ``Undo{Offer}``
ContributionRated      ``Create{Rating}`` (our type) to the contributor and the partners
Supported              ``Like{Page}`` to the creator, cc the tribe
Unsupported            ``Undo{Like}``
PartnershipRequested   ``Join{Page}`` to the partners
PartnerAdded           ``Accept{Join}`` (nothing for a contributor: the ``Accept{Offer}``
                       already made them a partner everywhere)
PartnershipDeclined    ``Reject{Join}``
PartnerLeft            ``Leave{Page}`` (a partner stepped back or withdrew their request),
                       to the tribe, the partners and the creator (the host)
MessagePosted          ``Create{Note}`` (``inReplyTo`` the Page, our ``isUpdate`` true; boost)
CommentCreated         ``Create{Note}`` with ``inReplyTo`` the update, task or comment
CommentUpdated         ``Update{Note}``
CommentDeleted         ``Delete{Tombstone}``
=====================  ==========================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import (
    build_accept,
    build_announce,
    build_create,
    build_reject,
    build_undo,
)
from activitypub.vocab import AS_CONTEXT, PUBLIC, default_context, id_of
from fedi.domain.events import subscribes
from fedi.domain.events_initiatives import (
    CommentCreated,
    CommentDeleted,
    CommentUpdated,
    ContributionDecided,
    ContributionOffered,
    ContributionRated,
    ContributionWithdrawn,
    InitiativeArchived,
    InitiativeCreated,
    InitiativeDeleted,
    InitiativeEvent,
    InitiativeUpdated,
    MessagePosted,
    PartnerAdded,
    PartnerLeft,
    PartnershipDeclined,
    PartnershipRequested,
    Supported,
    TaskCreated,
    TaskDeleted,
    TaskReopened,
    TaskResolved,
    TaskUpdated,
    Unsupported,
)
from fedi.domain.initiative_access import active_partners
from fedi.domain.local_actors import followers_url_of
from fedi.federation.audience import audience
from fedi.federation.documents.actors import namespace_url
from fedi.federation.documents.initiatives import (
    addressing,
    comment_document,
    message_document,
    note_addressing,
    page_document,
    task_document,
)
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.outgoing.tribe_distribution import distribute
from fedi.settings import Settings
from models import (
    Actor,
    Comment,
    Contribution,
    Initiative,
    InitiativeSupporter,
    InitiativeUpdate,
    Lane,
    OutboxActivity,
    Reaction,
    Task,
    TribeAnnounce,
    utcnow,
)

log = logging.getLogger(__name__)

__all__ = [
    "contribution_document",
    "deliver",
    "distribute_restricted",
    "share_with_tribe",
    "ticket_document",
    "withdraw_public_traces",
]

# Narrower first: a change from a wider to a narrower visibility "narrows" the initiative.
_WIDTH = {"private": 0, "members": 1, "public": 2}


# ------------------------------------------------------------------ documents


def _context(settings: Settings) -> list[Any]:
    return default_context(namespace_url(settings))


def _plain(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "@context"}


async def ticket_document(
    db: AsyncSession, settings: Settings, initiative: Initiative, task: Task
) -> dict[str, Any]:
    """The task's ``Ticket`` with its lane name and position (our terms)."""
    doc = _plain(task_document(settings, initiative, task))
    lane = await db.get(Lane, task.lane_id)
    doc["lane"] = lane.name if lane is not None else ""
    doc["position"] = task.position
    doc["attributedTo"] = initiative.ap_id
    return doc


def contribution_document(
    initiative: Initiative, contribution: Contribution, task_ap_id: str
) -> dict[str, Any]:
    """The offered ``Contribution`` (our type): hours, resources, motivation, state."""
    return {
        "id": contribution.ap_id,
        "type": "Contribution",
        "attributedTo": contribution.actor.ap_id,
        "context": initiative.ap_id,
        "target": task_ap_id,
        "hours": contribution.hours,
        "resources": contribution.resources,
        "motivation": contribution.motivation,
        "contributionState": contribution.state,
    }


def _tombstone(ap_id: str, former: str) -> dict[str, Any]:
    return {"id": ap_id, "type": "Tombstone", "formerType": former}


# ------------------------------------------------------------------ sending


async def addressing_for(
    db: AsyncSession, initiative: Initiative, sender: Actor, *extra: str
) -> tuple[list[str], list[str]]:
    """``to``/``cc`` for an activity about ``initiative`` (see the module notes)."""
    to, cc = await addressing(db, initiative)
    seen = set(to) | {sender.ap_id}
    out_cc = [x for x in cc if x not in seen]
    for ident in [*[p.ap_id for p in await active_partners(db, initiative)], *extra]:
        if ident and ident not in seen and ident not in out_cc:
            out_cc.append(ident)
    return [x for x in to if x != sender.ap_id], out_cc


async def _deliver_unboosted(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    sender: Actor,
    activity: dict[str, Any],
    *extra: str,
) -> None:
    """Address ``activity`` to the initiative's audience and partners (and ``extra``), put
    it in the initiative's context and deliver it without a boost: offers, answers and
    membership changes, which the tribe hands on but does not boost."""
    activity["to"], activity["cc"] = await addressing_for(db, initiative, sender, *extra)
    activity["context"] = initiative.ap_id
    await deliver(db, settings, initiative, sender, activity, boost=False)


async def deliver(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    sender: Actor,
    activity: dict[str, Any],
    *,
    boost: bool,
    previous_visibility: str | None = None,
) -> None:
    """Publish ``activity`` from ``sender`` and let the tribe announce it when it is ours.

    Local recipients are left out (the change is made here already). ``previous_visibility``
    (an edit that changed it) widens the tribe's distribution to the earlier audience.
    """
    activity.setdefault("@context", _context(settings))
    activity.setdefault("audience", initiative.tribe.actor.ap_id)
    await publish(db, settings, sender, activity, to_local=False)
    await share_with_tribe(
        db, settings, initiative, activity, boost=boost, previous_visibility=previous_visibility
    )


async def share_with_tribe(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    activity: dict[str, Any],
    *,
    boost: bool,
    previous_visibility: str | None = None,
) -> None:
    """The tribe (when it is ours) announces an accepted activity about an initiative.

    Public: to its followers and Public (boosted when ``boost``). Members-only: only to who
    may see it (see ``distribute_restricted``). Private: nothing (the partners, its whole
    audience, are addressed by every activity about it). When an edit narrowed the visibility
    (``previous_visibility`` wider than now), the servers that kept the wider copy hear of
    it too so they hide theirs: the members for a members-only or public one (the tribe's
    followers are its members), never Public.
    """
    tribe = initiative.tribe
    if not tribe.actor.local:
        return
    visibility = initiative.visibility
    if visibility == "public":
        await distribute(db, settings, tribe, activity, boost=boost)
        return
    if previous_visibility in _WIDTH and _WIDTH[previous_visibility] > _WIDTH[visibility]:
        visibility = "members"
    elif visibility == "private":
        return  # every activity about a private initiative names all its partners already
    await distribute_restricted(db, settings, initiative, activity, visibility=visibility)


async def distribute_restricted(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    activity: dict[str, Any],
    *,
    visibility: str | None = None,
) -> None:
    """The tribe announces an activity about a restricted initiative to its audience only.

    ``Announce{activity}`` (wrapped, never a boost) goes to the tribe's active members and
    the partners for a members-only initiative (``to`` the tribe's ``members`` collection,
    the people themselves in ``bto``, which is delivered to but never sent on), and to the
    partners for a private one. ``publish`` sends one copy per shared inbox. Nothing is
    addressed to Public or the followers, so the announce is in no public collection.
    Announcing the same activity twice does nothing.
    """
    group = initiative.tribe.actor
    inner = {key: value for key, value in activity.items() if key != "@context"}
    inner_id = id_of(inner.get("id"))
    if not inner_id:
        raise ValueError("an announced activity needs its id")
    already = await db.scalar(
        select(OutboxActivity.id).where(
            OutboxActivity.actor_id == group.id, OutboxActivity.type == "Announce",
            OutboxActivity.object_ap_id == inner_id,
        ).limit(1)
    )
    if already is not None:
        return
    sender = id_of(inner.get("actor"))
    shown = visibility or initiative.visibility
    people = [
        a.ap_id for a in await audience(db, initiative, visibility=shown) if a.ap_id != sender
    ]
    if not people:
        return
    if shown == "members":
        to, hidden = [f"{group.ap_id}/members"], people
    else:
        to, hidden = people, []
    announce = build_announce(
        new_activity_id(settings, "announce"), group.ap_id, inner, to, [], utcnow()
    )
    announce["@context"] = AS_CONTEXT
    announce["audience"] = group.ap_id
    if hidden:
        announce["bto"] = hidden
    await publish(db, settings, group, announce)


async def _local_partner(
    db: AsyncSession, initiative: Initiative, *, prefer: Actor | None = None
) -> Actor | None:
    """Who sends a change that does not name its maker: ``prefer``, the maker of the latest
    history entry, or the first local active partner."""
    partners = [p for p in await active_partners(db, initiative) if p.local]
    if prefer is not None and prefer.local:
        return prefer
    latest = await db.scalar(
        select(InitiativeUpdate)
        .where(InitiativeUpdate.initiative_id == initiative.id)
        .order_by(InitiativeUpdate.id.desc())
        .limit(1)
    )
    if latest is not None and latest.actor is not None:
        if any(p.id == latest.actor.id for p in partners):
            return latest.actor
    return partners[0] if partners else None


async def _page_editor(db: AsyncSession, initiative: Initiative) -> Actor | None:
    creator = initiative.creator
    if creator is not None and creator.local and initiative.local:
        return creator
    return await _local_partner(db, initiative)


async def _page(db: AsyncSession, settings: Settings, initiative: Initiative) -> dict[str, Any]:
    # ``archived``, ``visibility``, ``expectedResult`` and ``motivation`` are in the Page.
    return _plain(await page_document(db, settings, initiative))


def _new(settings: Settings, kind: str, actor: Actor, obj: Any) -> dict[str, Any]:
    return {
        "@context": _context(settings),
        "id": new_activity_id(settings, kind.lower()),
        "type": kind,
        "actor": actor.ap_id,
        "object": obj,
        "published": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def _send_object(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    sender: Actor | None,
    kind: str,
    obj: dict[str, Any],
    *,
    boost: bool = False,
    extra: tuple[str, ...] = (),
    previous_visibility: str | None = None,
) -> None:
    if sender is None or not sender.local:
        log.info("%s about initiative %s not sent: no local sender", kind, initiative.id)
        return
    to, cc = await addressing_for(db, initiative, sender, *extra)
    if kind in ("Create", "Update"):
        activity = build_create(new_activity_id(settings, kind), sender.ap_id, obj, to, cc)
        activity["type"] = kind
    else:
        activity = _new(settings, kind, sender, obj)
        activity["to"], activity["cc"] = to, cc
    activity["@context"] = _context(settings)
    activity["context"] = initiative.ap_id
    await deliver(
        db, settings, initiative, sender, activity, boost=boost,
        previous_visibility=previous_visibility,
    )


# ------------------------------------------------------------------ the initiative


def _ours(event: InitiativeEvent) -> bool:
    """Whether the change was made by a local person: only then do we send anything."""
    return bool(event.actor.local)


@subscribes(InitiativeCreated)
async def initiative_created(
    db: AsyncSession, settings: Settings, event: InitiativeCreated
) -> None:
    """A new initiative (send ``Create{Page}`` to the tribe, which announces it)."""
    initiative = event.initiative
    creator = initiative.creator
    if not _ours(event) or creator is None or not creator.local:
        return
    page = await _page(db, settings, initiative)
    followers = creator.followers_url
    await _send_object(
        db, settings, initiative, creator, "Create", page, boost=True,
        extra=(followers,) if followers and initiative.visibility == "public" else (),
    )


@subscribes(InitiativeUpdated)
async def initiative_updated(
    db: AsyncSession, settings: Settings, event: InitiativeUpdated
) -> None:
    """Fields of an initiative changed (send ``Update{Page}``).

    First, whoever made the edit: when it made a public initiative narrower, take back our
    public traces of it (``withdraw_public_traces``). Then, for a local editor, the
    ``Update``: ``previous_visibility`` is set when the edit changed the visibility. Made
    public: the tribe boosts the Page now. Made private: the Update still goes to the tribe,
    so the tribe's server hides its copy (and tells the servers of its members to do the
    same).
    """
    initiative = event.initiative
    previous = event.previous_visibility
    if previous == "public" and initiative.visibility != "public":
        await withdraw_public_traces(db, settings, initiative)
    if not _ours(event):
        return
    await _send_page_update(db, settings, initiative, previous_visibility=previous)


async def _send_page_update(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    *,
    previous_visibility: str | None = None,
) -> None:
    page = await _page(db, settings, initiative)
    changed = previous_visibility is not None and previous_visibility != initiative.visibility
    extra: tuple[str, ...] = ()
    if changed and initiative.visibility == "private":
        extra = (initiative.tribe.actor.ap_id,)
    await _send_object(
        db, settings, initiative, await _page_editor(db, initiative), "Update", page,
        boost=changed and initiative.visibility == "public", extra=extra,
        previous_visibility=previous_visibility if changed else None,
    )


async def withdraw_public_traces(
    db: AsyncSession, settings: Settings, initiative: Initiative
) -> None:
    """An initiative stopped being public: take back what we published about it publicly.

    Run on every server keeping it (local bookkeeping, not an outgoing hook): our activities
    about the Page, its tasks, messages and comments leave the public outboxes (and are
    served only to signed fetches of their addressees), and when the tribe is ours it takes
    back its announces with ``Undo{Announce}`` (which removes the boost from Mastodon
    timelines). The Undo names the announce by id only, so it does not carry the content
    out again. Copies other servers made while it was public are not recalled.
    """
    ids = {initiative.ap_id or ""}
    for model in (Task, Comment, InitiativeUpdate):
        rows = await db.scalars(
            select(model.ap_id).where(
                model.initiative_id == initiative.id, model.ap_id.is_not(None)
            )
        )
        ids.update(r for r in rows.all() if r)
    ids.discard("")
    tribe = initiative.tribe
    announces = list((await db.scalars(
        select(TribeAnnounce).where(
            TribeAnnounce.tribe_id == tribe.id,
            TribeAnnounce.object_ap_id.in_(sorted(ids)),
            TribeAnnounce.undone_at.is_(None),
        )
    )).all()) if tribe.actor.local and ids else []
    group = tribe.actor
    now = utcnow()
    for row in announces:
        stub = {"id": row.announce_ap_id, "type": "Announce", "actor": group.ap_id}
        undo = build_undo(new_activity_id(settings, "undo"), group.ap_id, stub)
        undo["@context"] = AS_CONTEXT
        undo["to"] = [PUBLIC]
        undo["cc"] = [followers_url_of(group)]
        await publish(db, settings, group, undo)
        row.undone_at = now
    if announces:
        for reaction in (await db.scalars(
            select(Reaction).where(
                Reaction.actor_id == group.id, Reaction.kind == "Announce",
                Reaction.object_ap_id.in_(sorted(ids)),
            )
        )).all():
            await db.delete(reaction)
    announce_ids = [row.announce_ap_id for row in announces]
    if ids:
        await db.execute(
            update(OutboxActivity)
            .where(OutboxActivity.object_ap_id.in_(sorted(ids)))
            .values(public=False)
        )
    if announce_ids:
        await db.execute(
            update(OutboxActivity)
            .where(OutboxActivity.ap_id.in_(announce_ids))
            .values(public=False)
        )
    await db.flush()


@subscribes(InitiativeArchived)
async def initiative_archived(
    db: AsyncSession, settings: Settings, event: InitiativeArchived
) -> None:
    """It was archived or taken out of the archive (send ``Update{Page}``)."""
    if _ours(event):
        await _send_page_update(db, settings, event.initiative)


@subscribes(InitiativeDeleted)
async def initiative_deleted(
    db: AsyncSession, settings: Settings, event: InitiativeDeleted
) -> None:
    """It was deleted; ``deleted_at`` is set (send ``Delete`` with a ``Tombstone``)."""
    if not _ours(event):
        return
    initiative = event.initiative
    sender = await _page_editor(db, initiative)
    await _send_object(
        db, settings, initiative, sender, "Delete", _tombstone(initiative.ap_id or "", "Page")
    )


# ------------------------------------------------------------------ tasks


@subscribes(TaskCreated, TaskUpdated, TaskReopened)
async def task_changed(
    db: AsyncSession, settings: Settings, event: TaskCreated | TaskUpdated | TaskReopened
) -> None:
    """A task was added (``Create{Ticket}`` in the initiative's context), edited, moved or
    reopened (``Update{Ticket}``, ``isResolved`` false after a reopen)."""
    if not _ours(event):
        return
    initiative = event.initiative
    sender = await _local_partner(db, initiative)
    doc = await ticket_document(db, settings, initiative, event.task)
    kind = "Create" if isinstance(event, TaskCreated) else "Update"
    await _send_object(db, settings, initiative, sender, kind, doc)


@subscribes(TaskResolved)
async def task_resolved(db: AsyncSession, settings: Settings, event: TaskResolved) -> None:
    """A task was completed (send ``Update{Ticket}`` with ``isResolved`` true)."""
    if not _ours(event):
        return
    initiative, task = event.initiative, event.task
    sender = await _local_partner(db, initiative, prefer=task.completed_by)
    doc = await ticket_document(db, settings, initiative, task)
    await _send_object(db, settings, initiative, sender, "Update", doc)


@subscribes(TaskDeleted)
async def task_deleted(db: AsyncSession, settings: Settings, event: TaskDeleted) -> None:
    """A task was deleted; the row is gone from the session (send ``Delete{Tombstone}``)."""
    if not _ours(event):
        return
    initiative = event.initiative
    sender = await _local_partner(db, initiative)
    await _send_object(
        db, settings, initiative, sender, "Delete", _tombstone(event.task.ap_id or "", "Ticket")
    )


# ------------------------------------------------------------------ contributions


async def _task_ap_id(db: AsyncSession, contribution: Contribution) -> str:
    task = await db.get(Task, contribution.task_id)
    return task.ap_id or "" if task is not None else ""


@subscribes(ContributionOffered)
async def contribution_offered(
    db: AsyncSession, settings: Settings, event: ContributionOffered
) -> None:
    """Someone offered a contribution (a local offerer sends ``Offer``)."""
    initiative, contribution = event.initiative, event.contribution
    offerer = contribution.actor
    if not _ours(event) or not offerer.local:
        return
    target = await _task_ap_id(db, contribution)
    activity = _new(
        settings, "Offer", offerer, contribution_document(initiative, contribution, target)
    )
    contribution.offer_ap_id = activity["id"]
    await db.flush()
    activity["target"] = target
    await _deliver_unboosted(db, settings, initiative, offerer, activity)


def _offer_reference(contribution: Contribution, target: str, initiative: Initiative) -> Any:
    """The Offer as embedded in Accept/Reject/Undo (its id is what receivers match)."""
    return {
        "id": contribution.offer_ap_id or contribution.ap_id,
        "type": "Offer",
        "actor": contribution.actor.ap_id,
        "object": contribution_document(initiative, contribution, target),
        "target": target,
    }


@subscribes(ContributionDecided)
async def contribution_decided(
    db: AsyncSession, settings: Settings, event: ContributionDecided
) -> None:
    """A partner accepted or rejected an offer (``Accept{Offer}`` / ``Reject{Offer}``)."""
    initiative, contribution = event.initiative, event.contribution
    partner = contribution.decided_by
    if not _ours(event) or partner is None or not partner.local:
        return
    target = await _task_ap_id(db, contribution)
    offer = _offer_reference(contribution, target, initiative)
    build = build_accept if contribution.state == "accepted" else build_reject
    activity = build(new_activity_id(settings, "decide"), partner.ap_id, offer)
    await _deliver_unboosted(db, settings, initiative, partner, activity, contribution.actor.ap_id)


@subscribes(ContributionWithdrawn)
async def contribution_withdrawn(
    db: AsyncSession, settings: Settings, event: ContributionWithdrawn
) -> None:
    """The offerer withdrew their offer (``Undo{Offer}``)."""
    initiative, contribution = event.initiative, event.contribution
    offerer = contribution.actor
    if not _ours(event) or not offerer.local:
        return
    target = await _task_ap_id(db, contribution)
    activity = build_undo(
        new_activity_id(settings, "undo"), offerer.ap_id,
        _offer_reference(contribution, target, initiative),
    )
    await _deliver_unboosted(db, settings, initiative, offerer, activity)


@subscribes(ContributionRated)
async def contribution_rated(
    db: AsyncSession, settings: Settings, event: ContributionRated
) -> None:
    """A partner rated an accepted contribution (``Create{Rating}``, our type)."""
    initiative, rating = event.initiative, event.rating
    contribution = await db.get(Contribution, rating.contribution_id)
    if not _ours(event) or contribution is None or not rating.partner.local:
        return
    doc = {
        "id": settings.url(
            f"/initiatives/{initiative.id}/contributions/{contribution.id}/ratings/{rating.id}"
        ),
        "type": "Rating",
        "attributedTo": rating.partner.ap_id,
        "object": contribution.ap_id,
        "context": initiative.ap_id,
        "rating": rating.score,
        "content": rating.feedback,
    }
    await _send_object(
        db, settings, initiative, rating.partner, "Create", doc,
        extra=(contribution.actor.ap_id,),
    )


# ------------------------------------------------------------------ people


@subscribes(Supported)
async def supported(db: AsyncSession, settings: Settings, event: Supported) -> None:
    """``actor`` became a supporter (a local one sends ``Like{Page}``)."""
    initiative, actor = event.initiative, event.actor
    if not actor.local:
        return
    activity = _new(settings, "Like", actor, initiative.ap_id)
    row = await db.scalar(
        select(InitiativeSupporter).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == actor.id,
        )
    )
    if row is not None and row.activity_ap_id is None:
        row.activity_ap_id = activity["id"]
    creator = initiative.creator.ap_id if initiative.creator else None
    to, cc = await addressing_for(db, initiative, actor)
    activity["to"] = [creator] if creator and creator != actor.ap_id else []
    activity["cc"] = [x for x in [*to, *cc] if x != PUBLIC and x not in activity["to"]]
    activity["context"] = initiative.ap_id
    await deliver(db, settings, initiative, actor, activity, boost=False)


@subscribes(Unsupported)
async def unsupported(db: AsyncSession, settings: Settings, event: Unsupported) -> None:
    """``actor`` stopped supporting (``Undo{Like}`` of the Like we sent)."""
    initiative, actor = event.initiative, event.actor
    if not actor.local:
        return
    sent = await db.scalar(
        select(OutboxActivity)
        .where(
            OutboxActivity.actor_id == actor.id, OutboxActivity.type == "Like",
            OutboxActivity.object_ap_id == initiative.ap_id,
        )
        .order_by(OutboxActivity.id.desc())
        .limit(1)
    )
    if sent is None:
        return
    original = _plain(sent.payload)
    activity = build_undo(new_activity_id(settings, "undo"), actor.ap_id, original)
    activity["to"] = list(original.get("to") or [])
    activity["cc"] = list(original.get("cc") or [])
    activity["context"] = initiative.ap_id
    await deliver(db, settings, initiative, actor, activity, boost=False)


@subscribes(PartnershipRequested)
async def partner_requested(
    db: AsyncSession, settings: Settings, event: PartnershipRequested
) -> None:
    """Someone asked to become a partner (``Join{Page}``)."""
    initiative, partner = event.initiative, event.partner
    person = partner.actor
    if not _ours(event) or not person.local:
        return
    activity = _new(settings, "Join", person, initiative.ap_id)
    activity["content"] = partner.message
    partner.activity_ap_id = activity["id"]
    await db.flush()
    await _deliver_unboosted(db, settings, initiative, person, activity)


@subscribes(PartnerAdded, PartnershipDeclined)
async def partner_decided(
    db: AsyncSession, settings: Settings, event: PartnerAdded | PartnershipDeclined
) -> None:
    """A partner request was accepted (``Accept{Join}``) or declined (``Reject{Join}``).

    Nothing is sent when an accepted contribution made someone a partner (the
    ``Accept{Offer}`` does it on every server).
    """
    if not _ours(event):
        return
    initiative, partner = event.initiative, event.partner
    if partner.role == "contributor" or not partner.activity_ap_id:
        return
    decider = await _local_partner(db, initiative)
    if decider is None or decider.id == partner.actor_id:
        return
    join = {
        "id": partner.activity_ap_id, "type": "Join", "actor": partner.actor.ap_id,
        "object": initiative.ap_id,
    }
    build = build_accept if isinstance(event, PartnerAdded) else build_reject
    activity = build(new_activity_id(settings, "join-answer"), decider.ap_id, join)
    await _deliver_unboosted(db, settings, initiative, decider, activity, partner.actor.ap_id)


@subscribes(PartnerLeft)
async def partner_left(db: AsyncSession, settings: Settings, event: PartnerLeft) -> None:
    """A partner stepped back, or withdrew their request (``Leave{Page}``, the counterpart
    of the ``Join{Page}`` that asked; the row is deleted already).

    Sent by the person who left when they are ours, to the tribe, the remaining partners and
    the creator, so the server hosting the initiative hears of it even when its creator
    is no partner any more.
    """
    initiative = event.initiative
    person = event.partner.actor
    if not _ours(event) or person is None or not person.local:
        return
    activity = _new(settings, "Leave", person, initiative.ap_id)
    creator = initiative.creator.ap_id if initiative.creator is not None else ""
    await _deliver_unboosted(db, settings, initiative, person, activity, creator)


# ------------------------------------------------------------------ conversation


@subscribes(MessagePosted)
async def message_posted(db: AsyncSession, settings: Settings, event: MessagePosted) -> None:
    """A free message was posted in the initiative (``Create{Note}``, boosted)."""
    if not _ours(event):
        return
    initiative, entry = event.initiative, event.update
    doc = message_document(settings, initiative, entry, await note_addressing(db, initiative))
    doc["isUpdate"] = True
    await _send_object(db, settings, initiative, entry.actor, "Create", doc, boost=True)


async def _comment_extra(db: AsyncSession, comment: Comment) -> tuple[str, ...]:
    """Who a comment answers (Mastodon notifies the author of what is replied to)."""
    if comment.parent_id is None:
        return ()
    parent = await db.get(Comment, comment.parent_id)
    return (parent.author.ap_id,) if parent is not None else ()


@subscribes(CommentCreated, CommentUpdated)
async def comment_written(
    db: AsyncSession, settings: Settings, event: CommentCreated | CommentUpdated
) -> None:
    """A comment was posted (``Create{Note}`` with ``inReplyTo``) or edited
    (``Update{Note}``)."""
    if not _ours(event):
        return
    initiative, comment = event.initiative, event.comment
    doc = comment_document(settings, initiative, comment, await note_addressing(db, initiative))
    kind = "Create" if isinstance(event, CommentCreated) else "Update"
    await _send_object(
        db, settings, initiative, comment.author, kind, doc,
        extra=await _comment_extra(db, comment),
    )


@subscribes(CommentDeleted)
async def comment_deleted(db: AsyncSession, settings: Settings, event: CommentDeleted) -> None:
    """A comment was deleted (``Delete{Tombstone}``)."""
    if not _ours(event):
        return
    initiative, comment = event.initiative, event.comment
    await _send_object(
        db, settings, initiative, comment.author, "Delete",
        _tombstone(comment.ap_id or "", "Note"),
    )
