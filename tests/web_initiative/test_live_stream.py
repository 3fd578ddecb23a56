"""``GET /live``: who may watch an initiative, and events that arrive after a domain change
(SQLite and PostgreSQL, through Quart's test client; one app)."""

from __future__ import annotations

import asyncio

import pytest

from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiatives,
    tribe_members,
    tribes,
)
from fedi.domain.initiative_access import get_initiative
from fedi.http.web import live as live_pages
from fedi.live.hub import hub_of
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named, login
from tests.web_initiative.sse_helpers import client_stream


async def test_a_member_hears_messages_comments_and_task_moves(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world, visibility="members")
    task = await make_task(app, initiative)
    client = app.test_client()
    await login(client, "bob")
    async with client_stream(client, f"/live?initiative={initiative.id}") as (status, stream):
        assert status == 200
        await stream.wait_for("ready")
        await stream.wait_for("unread")

        async with app.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            entry = await conversation.post_message(
                db, app.state.settings, item, await actor_named(db, "ann"), "Wie helpt?"
            )
            update_id = entry.id
        await stream.wait_for("message", update_id=update_id)

        async with app.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            comment = await conversation.add_comment(
                db, app.state.settings, item, await actor_named(db, "bob"), "Ik!",
                update_id=update_id,
            )
            comment_id = comment.id
        await stream.wait_for("comment", comment_id=comment_id, update_id=update_id)

        async with app.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            lane = await initiative_board.create_lane(
                db, app.state.settings, item, await actor_named(db, "ann"), "Bezig"
            )
            await initiative_board.move_task(
                db, app.state.settings, item, await actor_named(db, "ann"), task.id,
                lane_id=lane.id,
            )
        await stream.wait_for("task", task_id=task.id, change="changed")
        await stream.wait_for("progress")


async def test_outsiders_and_visitors_never_get_a_hidden_initiative(app: FediApp) -> None:
    world = await make_world(app)
    hidden = await make_initiative(app, world, visibility="members")
    visitor = app.test_client()
    async with client_stream(visitor, f"/live?initiative={hidden.id}") as (status, _stream):
        assert status == 404
    async with client_stream(visitor, "/live") as (status, _stream):
        assert status == 204  # nothing to watch: the browser stops reconnecting
    outsider = app.test_client()
    await login(outsider, "cas")
    async with client_stream(outsider, f"/live?initiative={hidden.id}") as (status, _stream):
        assert status == 404
    # Nobody subscribed to the initiative's topic.
    assert hub_of(app.state).subscriber_count(f"initiative:{hidden.id}") == 0

    public = await make_initiative(app, world, name="Open plan")
    async with client_stream(visitor, f"/live?initiative={public.id}") as (status, stream):
        assert status == 200
        await stream.wait_for("ready")
    async with app.state.db.session() as db:
        item = await get_initiative(db, public.id)
        await initiatives.delete_initiative(
            db, app.state.settings, item, await actor_named(db, "ann")
        )
    async with client_stream(visitor, f"/live?initiative={public.id}") as (status, _stream):
        assert status == 410


async def test_a_rolled_back_change_is_never_told(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    client = app.test_client()
    await login(client, "ann")
    async with client_stream(client, f"/live?initiative={initiative.id}") as (status, stream):
        assert status == 200
        await stream.wait_for("ready")
        try:
            async with app.state.db.session() as db:
                item = await get_initiative(db, initiative.id)
                await conversation.post_message(
                    db, app.state.settings, item, await actor_named(db, "ann"), "Weg ermee"
                )
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        async with app.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            kept = await conversation.post_message(
                db, app.state.settings, item, await actor_named(db, "ann"), "Deze blijft"
            )
            kept_id = kept.id
        first = await stream.wait_for("message")
        assert first.data["update_id"] == kept_id


async def test_the_notification_count_follows_new_notifications(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    task = await make_task(app, initiative)
    client = app.test_client()
    await login(client, "ann")
    async with client_stream(client, "/live") as (status, stream):
        assert status == 200
        # What ann had before (a tribe may tell its admin about new members).
        before = int((await stream.wait_for("unread")).data["count"])
        async with app.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            await contributions.offer(
                db, app.state.settings, item, await actor_named(db, "bob"), task.id,
                hours="3", motivation="Ik kan zagen",
            )
        await stream.wait_for("unread", count=before + 1)


async def test_someone_who_leaves_the_tribe_stops_hearing_a_members_only_initiative(
    app: FediApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Check again on every beat, and beat often, so the test need not wait a minute.
    monkeypatch.setattr(live_pages, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(live_pages, "HEARTBEAT_SECONDS", 0.2)
    world = await make_world(app)
    hidden = await make_initiative(app, world, visibility="members")
    client = app.test_client()
    await login(client, "bob")
    async with client_stream(client, f"/live?initiative={hidden.id}") as (status, stream):
        assert status == 200
        await stream.wait_for("ready")
        async with app.state.db.session() as db:
            tribe = await tribes.get_tribe(db, world.tribe.slug)
            await tribe_members.leave(db, app.state.settings, tribe, await actor_named(db, "bob"))
        await stream.wait_for("gone")
        for _ in range(100):  # bounded: the stream ends and unsubscribes
            if hub_of(app.state).subscriber_count(f"initiative:{hidden.id}") == 0:
                break
            await asyncio.sleep(0.05)
        assert hub_of(app.state).subscriber_count(f"initiative:{hidden.id}") == 0
