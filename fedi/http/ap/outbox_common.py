"""What the client-to-server sub-dispatchers share: errors, finding the published activity,
and a record for an action that federates nothing.

A service publishes its activities (``fedi.federation.outgoing``) in the same transaction
as the change, so after calling it the outbox finds the newest activity the person
published since :func:`mark`. Some actions have no activity on the wire (a lane is only
named in its tasks; a tribe is a new ``Group`` actor): for them :func:`record_only` stores
an activity addressed to nobody, so the client still gets a ``Location`` that dereferences
(for its owner, with their bearer token) and the person's outbox tells what they did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import AS_CONTEXT, as_list, id_of
from fedi.domain.errors import NotFound, ServiceError
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor, resolve_handle
from fedi.settings import Settings
from fedi.state import AppState
from fedi.text import plain_text
from models import Actor, OutboxActivity, utcnow

__all__ = [
    "BadActivity",
    "mark",
    "named_ids",
    "published_since",
    "record_only",
    "resolve_actor",
    "result",
    "text_of",
]


class BadActivity(ServiceError):
    """The posted activity is not one we can perform (HTTP 400)."""


async def mark(db: AsyncSession) -> int:
    """The newest outbox row id now, to find what a service is about to publish."""
    await db.flush()
    return int(await db.scalar(select(func.max(OutboxActivity.id))) or 0)


async def published_since(
    db: AsyncSession, before: int, actor: Actor, kind: str | None = None
) -> OutboxActivity | None:
    """The first activity of ``kind`` (any kind when None) that ``actor`` published after
    the row id ``before`` (see :func:`mark`), or None."""
    await db.flush()
    query = select(OutboxActivity).where(
        OutboxActivity.id > before, OutboxActivity.actor_id == actor.id
    )
    if kind is not None:
        query = query.where(OutboxActivity.type == kind)
    return await db.scalar(query.order_by(OutboxActivity.id).limit(1))


async def record_only(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    kind: str,
    obj: Any,
    **extra: Any,
) -> OutboxActivity:
    """Store an activity by ``actor`` that goes to nobody (see the module notes)."""
    activity: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": new_activity_id(settings, kind),
        "type": kind,
        "actor": actor.ap_id,
        "object": obj,
        "to": [],
        "published": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
    return await publish(db, settings, actor, activity)


async def result(
    db: AsyncSession,
    settings: Settings,
    before: int,
    actor: Actor,
    kind: str,
    obj: Any,
    *,
    on_behalf: Actor | None = None,
    **extra: Any,
) -> OutboxActivity:
    """What the service published as ``actor`` since ``before`` (or, failing that, as
    ``on_behalf``: a tribe whose admin acted); a :func:`record_only` activity by ``actor``
    when nothing was published (a change only this server needs to know of)."""
    for who in (actor, on_behalf):
        if who is None:
            continue
        row = await published_since(db, before, who, kind)
        if row is None:
            row = await published_since(db, before, who)
        if row is not None:
            return row
    return await record_only(db, settings, actor, kind, obj, **extra)


def named_ids(*values: Any) -> list[str]:
    """The ids named in ``values`` (each an id, an object with one, or a list of them)."""
    found: list[str] = []
    for value in values:
        for entry in as_list(value):
            ident = id_of(entry)
            if ident and ident not in found:
                found.append(ident)
    return found


def text_of(obj: dict[str, Any], *, required: bool = True) -> str:
    """The markdown a client wrote: ``source.content`` (or a plain ``source``), else
    ``content`` (its HTML reduced to plain text by the caller's service)."""
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return str(source["content"])
    if isinstance(source, str):
        return source
    content = obj.get("content")
    if isinstance(content, str) and content.strip():
        return plain_text(content) if "<" in content else content
    if required:
        raise BadActivity("%(kind)s needs content", kind=str(obj.get("type") or "the object"))
    return ""


async def resolve_actor(db: AsyncSession, state: AppState, reference: Any) -> Actor:
    """An actor from an id, or from a handle (``name@host``, ``@name@host``, ``acct:...``)."""
    ref = id_of(reference)
    if not ref:
        raise BadActivity("object must be an actor id or a handle")
    try:
        if ref.startswith(("https://", "http://")):
            return await get_or_fetch_actor(state, db, ref)
        return await resolve_handle(state, db, ref)
    except ActorUnavailable as exc:
        raise NotFound("actor %(ref)s could not be found", ref=ref) from exc
