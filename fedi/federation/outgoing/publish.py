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

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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

__all__ = ["Recipient", "new_activity_id", "new_object_id", "publish", "recipients_of"]

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
    addresses: set[str] = set()
    for name in ADDRESS_FIELDS:
        for entry in as_list(activity.get(name)):
            ident = id_of(entry)
            if ident and ident not in PUBLIC_ALIASES:
                addresses.add(ident)
    found: dict[int, Recipient] = {}
    await db.flush()  # Core statements do not autoflush; a follow added just now counts
    conn = await db.connection()
    if actor.followers_url and actor.followers_url in addresses:
        addresses.discard(actor.followers_url)
        rows = await conn.execute(
            select(*_RECIPIENT_COLUMNS)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == actor.id, Follow.accepted.is_(True))
        )
        # all(): one fetch, not one awaited fetchone per row.
        for row in rows.all():
            found[row[0]] = Recipient(*row)
    if addresses:
        rows = await conn.execute(
            select(*_RECIPIENT_COLUMNS).where(Actor.ap_id.in_(sorted(addresses)))
        )
        for row in rows.all():
            found[row[0]] = Recipient(*row)
    found.pop(actor.id, None)
    return list(found.values())


async def publish(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    activity: dict[str, Any],
    *,
    to_local: bool = True,
) -> OutboxActivity:
    """Store ``activity`` by ``actor`` and queue it for its recipients; return the outbox row.

    ``activity`` must carry its final ``id`` (see :func:`new_activity_id`). Remote recipients
    that are gone (410) or on a blocked domain are skipped. With ``to_local=False`` local
    recipients are left out (for activities that only concern other servers). Local
    recipients get their ``InboxEntry`` only: the service that emitted the change applied
    its effects for them already.
    """
    ap_id = id_of(activity.get("id"))
    if not ap_id:
        raise ValueError("an activity needs its id before it is published")
    recipients = await recipients_of(db, actor, activity)
    sent = without_hidden_recipients(activity)
    outbox = OutboxActivity(
        ap_id=ap_id,
        actor_id=actor.id,
        type=str(activity.get("type") or ""),
        object_ap_id=id_of(activity.get("object")),
        payload=sent,
        public=is_public(activity.get("to")) or is_public(activity.get("cc")),
    )
    db.add(outbox)
    await db.flush()

    remote = [r for r in recipients if not r.local and not r.gone]
    local = [r for r in recipients if r.local] if to_local else []
    # One row per distinct inbox: followers on one server collapse onto its shared inbox.
    candidates = {(r.shared_inbox or r.inbox): r.domain for r in remote if r.inbox}
    hosts = {url: host_of(url) for url in candidates}
    blocked = await blocked_hosts(
        db, {h for h in (*candidates.values(), *hosts.values()) if h}
    )
    inboxes = {
        url: hosts[url]
        for url, domain in candidates.items()
        if domain not in blocked and hosts[url] not in blocked
    }
    if inboxes:
        await db.execute(
            insert_ignore(db, Delivery, ["activity_id", "inbox_url"]),
            [
                {"activity_id": outbox.id, "inbox_url": url, "domain": domain}
                for url, domain in sorted(inboxes.items())
            ],
        )
        wake_after_commit(db, delivery=True)
    if local:
        await db.execute(
            insert_ignore(db, InboxEntry, ["actor_id", "activity_ap_id"]),
            [{"actor_id": r.id, "activity_ap_id": ap_id, "payload": sent} for r in local],
        )
    return outbox
