"""Publishing an activity: store it, and queue it for every recipient in the same transaction.

``publish`` is the single way our actors send anything. It never does network I/O: remote
recipients get ``Delivery`` rows (one per distinct inbox, followers collapsed onto shared
inboxes) that the delivery worker sends later; local recipients get an ``InboxEntry`` each
(what their inbox and timelines show) and nothing more: what a local activity changes for
local recipients the domain service applied already, in the same transaction, so our own
activities never go through the inbox (an inbound activity whose actor is local is refused
as forged). Because the rows are written in the caller's session, the change and its
deliveries commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from activitypub.vocab import (
    PUBLIC_ALIASES,
    as_list,
    host_of,
    id_of,
    is_public,
    without_hidden_recipients,
)
from fedi.dbutil import insert_ignore
from fedi.domain.blocks import blocked_hosts
from fedi.domain.ids import new_activity_id, new_object_id
from fedi.federation.wakeup import wake_after_commit
from fedi.settings import Settings
from models import Actor, Delivery, Follow, InboxEntry, OutboxActivity

__all__ = [
    "Recipient", "new_activity_id", "new_object_id", "publish", "publish_all", "recipients_of",
]

# Where recipients may be named. bto/bcc are honoured for delivery but never sent on.
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


class Recipient(NamedTuple):
    """What delivery needs to know about one addressee (no full ``Actor`` is loaded)."""

    id: int
    local: bool
    gone: bool  # answered 410 Gone once: nothing is sent to it any more
    inbox: str | None
    shared_inbox: str | None
    domain: str | None


# Only these columns, read as plain (Core) rows: for a tribe with 10,000 followers, full ORM
# actors (JSON columns, selectin-loaded talents) cost ~1 s per publish in the benchmark;
# ORM-processed column rows still ~3x what the Core rows cost.
_RECIPIENT_COLUMNS = (
    Actor.id,
    Actor.local,
    Actor.gone_at.is_not(None).label("gone"),
    Actor.inbox,
    Actor.shared_inbox,
    Actor.domain,
)


# Built once: constructing a statement costs about as much as running it (BENCHMARKS.md).
_FOLLOWERS = (
    select(*_RECIPIENT_COLUMNS)
    .join(Follow, Follow.follower_id == Actor.id)
    .where(Follow.followed_id == bindparam("followed"), Follow.accepted.is_(True))
)
_NAMED = select(Actor.ap_id, *_RECIPIENT_COLUMNS).where(
    Actor.ap_id.in_(bindparam("ids", expanding=True))
)


def _addresses(activity: dict[str, Any]) -> set[str]:
    """The ids ``activity`` is addressed to, Public left out."""
    addresses: set[str] = set()
    for name in ADDRESS_FIELDS:
        for entry in as_list(activity.get(name)):
            ident = id_of(entry)
            if ident and ident not in PUBLIC_ALIASES:
                addresses.add(ident)
    return addresses


def _recipient(actor: Actor) -> Recipient:
    """What :data:`_RECIPIENT_COLUMNS` reads, from an actor loaded already."""
    return Recipient(
        actor.id, actor.local, actor.gone_at is not None, actor.inbox, actor.shared_inbox,
        actor.domain,
    )


async def _recipients_of_all(
    db: AsyncSession, actor: Actor, activities: Sequence[dict[str, Any]],
    known: Sequence[Actor] = (),
) -> list[list[Recipient]]:
    """:func:`recipients_of` for each of ``activities`` by ``actor``, with one query for
    the followers and one for the other addressees of all of them. ``known``: actors the
    caller has loaded (in this session, so up to date), not looked up again."""
    wanted = [_addresses(activity) for activity in activities]
    await db.flush()  # Core statements do not autoflush; a follow added just now counts
    conn = await db.connection()
    followers: list[Recipient] = []
    if actor.followers_url and any(actor.followers_url in a for a in wanted):
        rows = await conn.execute(_FOLLOWERS, {"followed": actor.id})
        # all(): one fetch, not one awaited fetchone per row.
        followers = [Recipient(*row) for row in rows.all()]
    named: dict[str, Recipient] = {
        other.ap_id: _recipient(other) for other in known if other.id is not None
    }
    others = {ident for a in wanted for ident in a} - {actor.followers_url} - set(named)
    if others:
        rows = await conn.execute(_NAMED, {"ids": sorted(others)})
        for row in rows.all():
            named[row.ap_id] = Recipient(
                row.id, row.local, row.gone, row.inbox, row.shared_inbox, row.domain
            )
    out: list[list[Recipient]] = []
    for addresses in wanted:
        found: dict[int, Recipient] = {}
        if actor.followers_url and actor.followers_url in addresses:
            addresses = addresses - {actor.followers_url}
            for recipient in followers:
                found[recipient.id] = recipient
        for ident in sorted(addresses):
            addressee = named.get(ident)
            if addressee is not None:
                found[addressee.id] = addressee
        found.pop(actor.id, None)
        out.append(list(found.values()))
    return out


async def recipients_of(
    db: AsyncSession, actor: Actor, activity: dict[str, Any]
) -> list[Recipient]:
    """The actors ``activity`` is addressed to (as :class:`Recipient` rows), the sender
    excluded, without duplicates.

    Public is skipped; the sender's own followers collection expands to its accepted
    followers; any other id counts only when that actor is already in the actors table
    (callers fetch unknown remote actors before publishing). Collections of other actors are
    not expanded: we cannot know their members.
    """
    return (await _recipients_of_all(db, actor, [activity]))[0]


async def publish(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    activity: dict[str, Any],
    *,
    to_local: bool = True,
    known: Sequence[Actor] = (),
) -> OutboxActivity:
    """Store ``activity`` by ``actor`` and queue it for its recipients; return the outbox row.

    ``activity`` must carry its final ``id`` (see :func:`new_activity_id`). Remote recipients
    that are gone (410) or on a blocked domain are skipped. With ``to_local=False`` local
    recipients are left out (for activities that only concern other servers). Local
    recipients get their ``InboxEntry`` only: the service that emitted the change applied
    its effects for them already. ``known``: addressees the caller has loaded in this
    session (read from them instead of looked up).
    """
    published = await publish_all(
        db, settings, actor, [activity], to_local=to_local, known=known
    )
    return published[0]


async def publish_all(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    activities: Sequence[dict[str, Any]],
    *,
    to_local: bool = True,
    known: Sequence[Actor] = (),
) -> list[OutboxActivity]:
    """:func:`publish` each of ``activities`` by ``actor``, in this order, with the
    statements shared: one lookup of the followers and of the other addressees, one insert
    of the outbox rows, one look at the domain blocks, one insert of the deliveries and
    one of the local inbox entries (a tribe announcing a post sends two activities to the
    same followers). The outbox rows are returned in the order of ``activities``.
    """
    ap_ids: list[str] = []
    for activity in activities:
        ap_id = id_of(activity.get("id"))
        if not ap_id:
            raise ValueError("an activity needs its id before it is published")
        ap_ids.append(ap_id)
    recipients_each = await _recipients_of_all(db, actor, activities, known)
    sent_each = [without_hidden_recipients(activity) for activity in activities]
    outboxes = [
        OutboxActivity(
            ap_id=ap_id,
            actor_id=actor.id,
            type=str(activity.get("type") or ""),
            object_ap_id=id_of(activity.get("object")),
            payload=sent,
            public=is_public(activity.get("to")) or is_public(activity.get("cc")),
        )
        for ap_id, activity, sent in zip(ap_ids, activities, sent_each, strict=True)
    ]
    db.add_all(outboxes)
    await db.flush()

    # One row per distinct inbox: followers on one server collapse onto its shared inbox.
    candidates_each = [
        {(r.shared_inbox or r.inbox): r.domain for r in recipients if not r.local and
         not r.gone and r.inbox}
        for recipients in recipients_each
    ]
    hosts = {url: host_of(url) for candidates in candidates_each for url in candidates}
    blocked = await blocked_hosts(
        db,
        {h for candidates in candidates_each for h in candidates.values() if h}
        | {h for h in hosts.values() if h},
    )
    deliveries: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for outbox, ap_id, sent, recipients, candidates in zip(
        outboxes, ap_ids, sent_each, recipients_each, candidates_each, strict=True
    ):
        inboxes = {
            url: hosts[url]
            for url, domain in candidates.items()
            if domain not in blocked and hosts[url] not in blocked
        }
        deliveries.extend(
            {"activity_id": outbox.id, "inbox_url": url, "domain": domain}
            for url, domain in sorted(inboxes.items())
        )
        if to_local:
            entries.extend(
                {"actor_id": r.id, "activity_ap_id": ap_id, "payload": sent}
                for r in recipients if r.local
            )
    if deliveries:
        await db.execute(_insert_ignore(db, Delivery, "activity_id", "inbox_url"), deliveries)
        wake_after_commit(db, delivery=True)
    if entries:
        await db.execute(_insert_ignore(db, InboxEntry, "actor_id", "activity_ap_id"), entries)
    return outboxes


# ``insert_ignore`` statements by database and table, built once per process (every
# publish runs one or two).
_INSERTS: dict[tuple[str, str], Insert] = {}


def _insert_ignore(db: AsyncSession, model: type[Any], *conflict: str) -> Insert:
    """:func:`fedi.dbutil.insert_ignore`, kept for the next publish."""
    key = (db.get_bind().dialect.name, model.__tablename__)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = insert_ignore(db, model, list(conflict))
    return statement
