"""The demo initiatives: seeded after residents and tribes, through the services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from fedi.demo import DemoContext, seed_residents
from fedi.demo_initiatives import DEMO_INITIATIVES, seed_initiatives
from fedi.demo_tribes import seed_tribes
from fedi.domain import tribes
from fedi.domain.conversation import timeline
from fedi.domain.progress import progress_of
from models import Initiative, Notification


async def test_seed_initiatives_after_tribes(app: Any) -> None:
    async with app.state.db.session() as db:
        ctx = DemoContext(db=db, settings=app.state.settings)
        await seed_residents(ctx)
        await seed_tribes(ctx)
        await seed_initiatives(ctx)
    async with app.state.db.session() as db:
        rows = list((await db.scalars(select(Initiative).order_by(Initiative.id))).all())
        assert [row.name for row in rows] == [spec.name for spec in DEMO_INITIATIVES]
        terrace = rows[0]
        progress = await progress_of(db, terrace)
        assert progress.tasks_done == 1 and progress.tasks_total == 5
        assert progress.contributions_accepted == 3 and progress.contributions_open == 1
        assert progress.partners == 4 and progress.time_percent is not None
        kinds = {entry.kind for entry in await timeline(db, terrace)}
        assert {"created", "task_added", "contribution_accepted", "message", "rated"} <= kinds
        plein = await tribes.get_tribe(db, "plein")
        assert (await tribes.tribe_counts(db, plein)).initiatives == 2
        assert await db.scalar(select(func.count(Notification.id))) > 0
