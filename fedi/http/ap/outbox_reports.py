"""Client-to-server resolving of a report: ``Accept{Flag}``.

The tribe moderation page's "resolved" button (``tribe_moderation.resolve_report``: admins
and moderators of the tribe the report went to, audited). ``Accept`` is the form AS2 has for
"this request was dealt with"; there is no dismissing here (the page has none), so
``Reject{Flag}`` is refused. The Flag is named by

- its id: a ``Flag`` from another server, or one filed over C2S (its ``Location``), or
- the embedded ``Flag``: ``object`` the reported ids and ``target`` the tribe (what a
  moderator sees in the report); every open report of the tribe about exactly those ids is
  resolved.

The answer is an ``Accept`` addressed to nobody (reports are kept on this server).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, id_of
from fedi.domain import tribe_moderation
from fedi.domain.errors import NotFound
from fedi.domain.tribe_access import require_role
from fedi.http.ap.outbox_common import BadActivity, named_ids, record_only
from fedi.http.ap.outbox_moderation import tribe_of
from fedi.state import AppState
from models import Actor, OutboxActivity, Report, Tribe

__all__ = ["is_flag", "perform"]


def is_flag(reference: Any) -> bool:
    """Whether an Accept/Reject's object is an embedded ``Flag``."""
    return isinstance(reference, dict) and "Flag" in as_list(reference.get("type"))


async def _reports(db: AsyncSession, reference: Any) -> list[Report]:
    """The reports a Flag reference names (see the module notes)."""
    ref = id_of(reference)
    if ref:
        report = await db.scalar(select(Report).where(Report.activity_ap_id == ref))
        if report is not None:
            return [report]
    if not is_flag(reference):
        return []
    assert isinstance(reference, dict)
    tribe = await tribe_of(db, reference)
    targets = sorted(named_ids(reference.get("object")))
    if tribe is None or not targets:
        return []
    rows = await db.scalars(
        select(Report).where(Report.tribe_id == tribe.id, Report.state == "open")
    )
    return [r for r in rows.unique().all() if sorted(r.target_ap_ids or []) == targets]


async def _flag_id_known(db: AsyncSession, reference: Any) -> bool:
    """Whether ``reference`` is the id of a Flag we hold (filed here or received)."""
    ref = id_of(reference)
    if not ref:
        return False
    if await db.scalar(select(Report.id).where(Report.activity_ap_id == ref)) is not None:
        return True
    found = await db.scalar(
        select(OutboxActivity.id).where(OutboxActivity.ap_id == ref, OutboxActivity.type == "Flag")
    )
    return found is not None


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """``Accept{Flag}``: resolve the report(s); None when the object is no Flag."""
    kind = document.get("type")
    obj = document.get("object")
    if kind not in ("Accept", "Reject") or not (is_flag(obj) or await _flag_id_known(db, obj)):
        return None
    if kind == "Reject":
        raise BadActivity("a report is resolved with Accept; there is no dismissing it")
    reports = await _reports(db, obj)
    if not reports:
        raise NotFound("There is no open report like this.")
    for report in reports:
        tribe = await db.get(Tribe, report.tribe_id) if report.tribe_id else None
        if tribe is None:
            # Instance reports are handled by the admins outside the tribe pages.
            raise BadActivity("only a tribe's reports are resolved here")
        await require_role(db, tribe, owner, "moderator")
        await tribe_moderation.resolve_report(db, state.settings, tribe, owner, report.id)
    return await record_only(db, state.settings, owner, "Accept", obj)
