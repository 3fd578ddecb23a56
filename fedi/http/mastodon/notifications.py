"""Notifications: list (``types[]``, ``exclude_types[]``, ``account_id``), show, dismiss, clear.

Our notification kinds (``fedi.domain.notifications.KINDS``) and Mastodon's types:

==========================  ===================  =====================================
our kind                    Mastodon type        status
==========================  ===================  =====================================
mention                     mention              the note (``payload["note"]``)
reply                       mention              the reply (Mastodon notifies a reply
                                                 as a mention of the parent's author)
like                        favourite            the note liked
boost                       reblog               the note boosted
follow                      follow               none
follow_request              follow_request       none
==========================  ===================  =====================================

Left out of the API (they stay on the web's notifications page): a mention inside an
initiative's conversation (it has no note of its own, and apps crash on a mention without
a status), and the kinds about initiatives, tasks, contributions, partners, supporters,
ratings, meetups, tribes and moderation: Mastodon has no type for them, and an app shows
an unknown type as nothing or not at all. In particular ``tribe_join_requested`` is not a
``follow_request``: authorising one with ``/api/v1/follow_requests/:id/authorize`` would
act on the person's own followers, not on the tribe. A person's settings apply: kinds
switched off in the app are not listed.
"""

from __future__ import annotations

from typing import Any

from quart import Response
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import notifications as notification_service
from fedi.domain.push_app import KIND_TO_TYPE
from fedi.http.mastodon import status_ids
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    api_json,
    api_params,
    api_user,
    endpoint_url,
    iso_ms,
    paginate_link,
)
from fedi.http.mastodon.status_entity import StatusItem, account_of, render_statuses
from fedi.http.mastodon.status_queries import may_see, note_by_ap_id
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor, Notification

blueprint = ApiBlueprint("mastodon_notifications", __name__)




# Types whose notification is meaningless without a status.
NEEDS_STATUS = frozenset({"mention", "favourite", "reblog", "poll"})
# Keys of a notification's payload that may name the note it is about.
_NOTE_KEYS = ("note", "status", "object")


def _kinds_for(types: list[str], excluded: list[str]) -> list[str]:
    kinds = [k for k, t in KIND_TO_TYPE.items() if (not types or t in types)]
    return [k for k in kinds if KIND_TO_TYPE[k] not in excluded]


def _note_id_of(row: Notification) -> str | None:
    payload = row.payload or {}
    for key in _NOTE_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


async def notification_entities(
    db: AsyncSession, settings: Settings, me: Actor, rows: list[Notification]
) -> list[dict[str, Any]]:
    """Notification entities for ``rows``; rows with no Mastodon type, no account, or a
    status the person may no longer see are left out."""
    prepared: list[tuple[Notification, str, StatusItem | None]] = []
    for row in rows:
        kind = KIND_TO_TYPE.get(row.kind)
        if kind is None or row.actor_id is None:
            continue
        item: StatusItem | None = None
        note_id = _note_id_of(row)
        if note_id is not None:
            note = await note_by_ap_id(db, note_id)
            if note is not None:
                candidate = StatusItem(status_ids.NOTE, note=note)
                if await may_see(db, me, candidate):
                    item = candidate
        if item is None and kind in NEEDS_STATUS:
            continue
        prepared.append((row, kind, item))
    statuses = await render_statuses(
        db, settings, me, [item for _, _, item in prepared if item is not None]
    )
    by_id = {status["id"]: status for status in statuses}
    out: list[dict[str, Any]] = []
    accounts: dict[int, dict[str, Any]] = {}
    for row, kind, item in prepared:
        actor_id = row.actor_id or 0
        if actor_id not in accounts:
            actor = row.actor or await db.get(Actor, actor_id)
            if actor is None:
                continue
            accounts[actor_id] = await account_of(db, settings, actor)
        status = by_id.get(item.id) if item is not None else None
        if item is not None and status is None:
            continue
        out.append({
            "id": str(row.id),
            "type": kind,
            "created_at": iso_ms(row.created_at),
            "group_key": f"ungrouped-{row.id}",
            "account": accounts[actor_id],
            "status": status,
        })
    return out


async def _shown_kinds(db: AsyncSession, me: Actor) -> set[str]:
    settings = await notification_service.settings_of(db, me)
    # Kinds that are not in KINDS (added by other areas later) have no setting: shown.
    return {k for k in KIND_TO_TYPE if k not in settings or settings[k].in_app}


@blueprint.get("/api/v1/notifications")
async def list_notifications() -> Response:
    """A page of notifications, newest first, paged by id (``max_id``, ``since_id``,
    ``min_id``, ``limit`` up to 80)."""
    state = get_state()
    params = await api_params()
    limit = params.int("limit", 40, lowest=1, highest=80)
    types = [str(t) for t in params.list("types")]
    excluded = [str(t) for t in params.list("exclude_types")]
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:notifications",))
        kinds = sorted(set(_kinds_for(types, excluded)) & await _shown_kinds(db, me))
        query = select(Notification).where(
            Notification.recipient_id == me.id, Notification.kind.in_(kinds)
        )
        account_id = params.str("account_id")
        if account_id.isdigit():
            query = query.where(Notification.actor_id == int(account_id))
        max_id = params.str("max_id")
        lower = params.str("min_id") or params.str("since_id")
        if max_id.isdigit():
            query = query.where(Notification.id < int(max_id))
        if lower.isdigit():
            query = query.where(Notification.id > int(lower))
        forwards = params.str("min_id").isdigit()
        # Read more than asked: some rows have no Mastodon form and are left out.
        query = query.order_by(
            Notification.id.asc() if forwards else Notification.id.desc()
        ).limit(limit * 2 + 10)
        rows = list((await db.scalars(query)).unique().all())
        entities = await notification_entities(db, state.settings, me, rows)
        entities = entities[:limit]
        if forwards:
            entities.reverse()
    keep: dict[str, Any] = {"limit": limit}
    if types:
        keep["types[]"] = types
    if excluded:
        keep["exclude_types[]"] = excluded
    link = paginate_link([e["id"] for e in entities], endpoint_url(), keep)
    return api_json(entities, headers={"Link": link} if link else None)


async def _own(db: AsyncSession, me: Actor, notification_id: str) -> Notification:
    row = (
        await db.get(Notification, int(notification_id)) if notification_id.isdigit() else None
    )
    if row is None or row.recipient_id != me.id:
        raise ApiError(404, "Record not found")
    return row


@blueprint.get("/api/v1/notifications/unread_count")
async def unread_count() -> Response:
    """How many notifications with a Mastodon type are unread."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:notifications",))
        count = await db.scalar(
            select(func.count(Notification.id)).where(
                Notification.recipient_id == me.id,
                Notification.read_at.is_(None),
                Notification.kind.in_(sorted(await _shown_kinds(db, me))),
            )
        )
    return api_json({"count": int(count or 0)})


@blueprint.get("/api/v1/notifications/<notification_id>")
async def show_notification(notification_id: str) -> Response:
    """One notification."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:notifications",))
        row = await _own(db, me, notification_id)
        found = await notification_entities(db, state.settings, me, [row])
        if not found:
            raise ApiError(404, "Record not found")
        return api_json(found[0])


@blueprint.post("/api/v1/notifications/<notification_id>/dismiss")
async def dismiss(notification_id: str) -> Response:
    """Remove one notification."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:notifications",))
        await db.delete(await _own(db, me, notification_id))
    return api_json({})


@blueprint.post("/api/v1/notifications/dismiss")
async def dismiss_v1() -> Response:
    """Remove one notification (the older form, with ``id`` as a parameter)."""
    params = await api_params()
    return await dismiss(params.str("id"))


@blueprint.post("/api/v1/notifications/clear")
async def clear() -> Response:
    """Remove all of one's notifications."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:notifications",))
        await db.execute(delete(Notification).where(Notification.recipient_id == me.id))
    return api_json({})
