"""Resolving a report over C2S: ``Accept{Flag}`` by a tribe's moderators, through the
service of the tribe's moderation page (``tribe_moderation.resolve_report``)."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import act, refused, token_of
from sqlalchemy import select

from models import AuditEntry, Report
from tests.initiative_helpers import make_world

pytestmark = pytest.mark.db


async def _reports(app: Any) -> list[Report]:
    async with app.state.db.session() as db:
        return list((await db.scalars(select(Report).order_by(Report.id))).unique().all())


async def test_accept_flag_resolves_report(app: Any) -> None:
    world = await make_world(app)
    group = world.tribe.actor.ap_id
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    flag = await act(app, "bob", bob, {"type": "Flag", "object": [world.rik.ap_id],
                                       "target": group, "content": "Scheldt steeds"})
    [report] = await _reports(app)
    assert report.state == "open" and report.activity_ap_id == flag["id"]

    # The reporter, a plain member, may not resolve it; there is no dismissing.
    await refused(app, "bob", bob, {"type": "Accept", "object": flag["id"]}, 403)
    await refused(app, "ann", ann, {"type": "Reject", "object": flag["id"]}, 400)
    done = await act(app, "ann", ann, {"type": "Accept", "object": flag["id"]})
    assert done["type"] == "Accept"
    [report] = await _reports(app)
    assert report.state == "resolved" and report.resolved_by_id == world.ann.id
    async with app.state.db.session() as db:
        audit = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "tribe.report_resolve")
        )
        assert audit is not None

    # The embedded Flag (what was reported, and to which tribe) names the open report.
    await act(app, "bob", bob, {"type": "Flag", "object": world.rik.ap_id, "target": group})
    await act(app, "ann", ann, {"type": "Accept", "object": {
        "type": "Flag", "object": [world.rik.ap_id], "target": group}})
    assert [r.state for r in await _reports(app)] == ["resolved", "resolved"]
    # Nothing open any more.
    await refused(app, "ann", ann, {"type": "Accept", "object": {
        "type": "Flag", "object": [world.rik.ap_id], "target": group}}, 404)
