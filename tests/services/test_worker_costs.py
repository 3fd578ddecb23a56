"""The statements the inbox saves on likes, follows and tribe announces keep behaviour.

``notify_once`` reads the setting and the earlier notifications in one statement,
``publish_all`` shares its lookups between activities, and a like of one of our notes
skips the initiative lookup only where no initiative can be.
"""

from __future__ import annotations

from sqlalchemy import func, select

from fedi.domain import notifications
from fedi.federation.incoming.handlers.like import may_be_initiative
from fedi.federation.outgoing.publish import publish, publish_all
from fedi.state import FediApp
from models import Delivery, Follow, OutboxActivity
from tests.tribe_helpers import actor_named, make_person, make_remote


async def test_notify_once_tells_once_and_follows_the_settings(app: FediApp) -> None:
    await make_person(app, "ann")
    await make_remote(app, "rik")
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        rik = await actor_named(db, "rik", "remote.example")
        first = await notifications.notify_once(
            db, ann, "like", by=rik, about="note-1", payload={"note": "note-1"}
        )
        assert first is not None and first.payload == {"note": "note-1", "about": "note-1"}
        assert first.email_pending is False  # likes wait for the digest by default
        again = await notifications.notify_once(
            db, ann, "like", by=rik, about="note-1", payload={"note": "note-1"}
        )
        assert again is None
        other = await notifications.notify_once(
            db, ann, "like", by=rik, about="note-2", payload={}
        )
        assert other is not None
        # Mailed at once where the kind says so.
        reply = await notifications.notify_once(db, ann, "reply", by=rik, about="r", payload={})
        assert reply is not None and reply.email_pending is True
        # Every channel off: nothing is stored.
        await notifications.set_setting(db, ann, "boost", in_app=False, digest=False)
        off = await notifications.notify_once(db, ann, "boost", by=rik, about="b", payload={})
        assert off is None
        # Only local people, and never the one who did it.
        assert await notifications.notify_once(db, rik, "like", by=ann, about="x", payload={}) \
            is None
        assert await notifications.notify_once(db, ann, "like", by=ann, about="y", payload={}) \
            is None


async def test_publish_all_queues_like_publish_one_by_one(app: FediApp) -> None:
    await make_person(app, "ann")
    await make_remote(app, "rik")
    await make_remote(app, "sam", "other.example")
    settings = app.state.settings
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        rik = await actor_named(db, "rik", "remote.example")
        sam = await actor_named(db, "sam", "other.example")
        db.add(Follow(follower_id=rik.id, followed_id=ann.id, activity_ap_id="f1",
                      accepted=True))
        await db.flush()
        followers = ann.followers_url
        both = await publish_all(db, settings, ann, [
            {"id": settings.url("/activities/a1"), "type": "Announce", "object": "x",
             "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [followers]},
            {"id": settings.url("/activities/a2"), "type": "Announce", "object": "y",
             "to": ["https://www.w3.org/ns/activitystreams#Public"],
             "cc": [followers, sam.ap_id]},
        ])
        single = await publish(db, settings, ann, {
            "id": settings.url("/activities/a3"), "type": "Like", "object": "z",
            "to": [sam.ap_id],
        }, known=[sam])
        ids = [row.id for row in (*both, single)]
        assert ids == sorted(ids)  # in the order given
        rows = (await db.execute(
            select(OutboxActivity.ap_id, Delivery.inbox_url)
            .join(Delivery, Delivery.activity_id == OutboxActivity.id)
            .order_by(OutboxActivity.id, Delivery.inbox_url)
        )).all()
        inbox = {actor.id: actor.shared_inbox or actor.inbox for actor in (rik, sam)}
        assert [(ap_id.rsplit("/", 1)[1], url) for ap_id, url in rows] == [
            ("a1", inbox[rik.id]),
            *sorted([("a2", inbox[rik.id]), ("a2", inbox[sam.id])]),
            ("a3", inbox[sam.id]),
        ]
        assert await db.scalar(select(func.count()).select_from(OutboxActivity)) == 3


def test_the_initiative_lookup_is_skipped_only_for_our_other_ids(app: FediApp) -> None:
    settings = app.state.settings
    assert may_be_initiative(settings, settings.url("/initiatives/12")) is True
    assert may_be_initiative(settings, "https://remote.example/pages/3") is True
    assert may_be_initiative(settings, None) is True
    assert may_be_initiative(settings, settings.url("/users/ann/notes/ab12")) is False
