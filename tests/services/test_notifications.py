"""Notification settings per kind, unread counts and the daily digest."""

from __future__ import annotations

from datetime import timedelta

from fedi.domain import notifications
from fedi.state import FediApp
from models import Notification, utcnow
from tests.tribe_helpers import actor_named, make_person, make_remote


async def test_settings_hide_from_the_app_or_skip_entirely(app: FediApp) -> None:
    await make_person(app, "ann")
    await make_person(app, "bob")
    await make_remote(app, "rik")
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        bob = await actor_named(db, "bob")
        rik = await actor_named(db, "rik", "remote.example")
        made = await notifications.notify(db, [ann, ann, bob, rik], "comment", by=bob)
        assert [n.recipient_id for n in made] == [ann.id]  # no self, no remote, no double
        await notifications.set_setting(db, ann, "comment", in_app=False, digest=True)
        assert await notifications.unread_count(db, ann) == 0
        assert await notifications.list_notifications(db, ann) == []
        groups = await notifications.digest(db, ann)
        assert [len(items) for _day, items in groups] == [1]
        await notifications.set_setting(db, ann, "comment", in_app=False, digest=False)
        assert await notifications.notify(db, [ann], "comment", by=bob) == []
        await notifications.notify(db, [ann], "mention", by=bob)
        assert await notifications.unread_count(db, ann) == 1
        await notifications.mark_all_read(db, ann)
        assert await notifications.unread_count(db, ann) == 0
        settings = await notifications.settings_of(db, ann)
        assert settings["comment"].in_app is False and settings["mention"].in_app is True


async def test_digest_groups_by_day(app: FediApp) -> None:
    await make_person(app, "ann")
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        now = utcnow()
        for days in (0, 0, 1, 10):
            db.add(Notification(
                recipient_id=ann.id, kind="message", payload={},
                created_at=now - timedelta(days=days),
            ))
        await db.flush()
        groups = await notifications.digest(db, ann, now=now)
    assert [len(items) for _day, items in groups] == [2, 1]
