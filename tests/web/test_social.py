"""The social pages on one instance (SQLite and PostgreSQL): compose, timeline, reactions,
follow requests of a locked account, and the login/CSRF protection of every action."""

from __future__ import annotations

import re
from typing import Any

from account_helpers import csrf_from, login, make_user, text
from sqlalchemy import select

from fedi.workers.inbox import InboxWorker
from models import Actor, ApObject, Follow, Reaction


async def process(app: Any) -> None:
    """Run the inbox worker until local activities are all handled (no workers in tests)."""
    worker = InboxWorker(app.state)
    for _ in range(20):
        if await worker.run_once() == 0:
            return
    raise AssertionError("inbox queue does not drain")


async def post(client: Any, url: str, data: dict[str, str], page: str = "/timeline") -> Any:
    token = await csrf_from(client, page)
    return await client.post(url, form={"csrf_token": token, **data})


async def notes_of(app: Any, username: str) -> list[ApObject]:
    async with app.state.db.session() as db:
        return list(
            (
                await db.scalars(
                    select(ApObject)
                    .join(Actor, Actor.id == ApObject.attributed_to_id)
                    .where(Actor.username == username)
                    .order_by(ApObject.id)
                )
            ).all()
        )


async def test_pages_need_login(app, client):
    for path in ("/timeline", "/follows", "/follow"):
        resp = await client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    token = await csrf_from(client, "/login")
    resp = await client.post("/notes", form={"csrf_token": token, "content": "x"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


async def test_actions_need_csrf(app, client):
    await make_user(app, "ann")
    await login(client, "ann")
    resp = await client.post("/notes", form={"content": "no token", "visibility": "public"})
    assert resp.status_code == 400
    assert await notes_of(app, "ann") == []


async def test_compose_timeline_like_boost_delete(app, client):
    await make_user(app, "ann")
    await make_user(app, "ben")
    await login(client, "ann")
    resp = await post(client, "/notes", {
        "content": "Hello **square** @ben <script>x</script>", "visibility": "public",
        "summary": "",
    })
    assert resp.status_code == 302
    page = await text(await client.get("/timeline"))
    assert "<strong>square</strong>" in page
    assert "&lt;script&gt;" in page and "<script>x" not in page
    assert 'class="u-url mention"' in page
    (note,) = await notes_of(app, "ann")
    await process(app)
    # ben was mentioned: the note is in his inbox.
    for action in ("like", "boost"):
        resp = await post(client, "/notes/react", {"action": action, "object": note.ap_id})
        assert resp.status_code == 302
    await process(app)
    async with app.state.db.session() as db:
        kinds = sorted(r.kind for r in (await db.scalars(select(Reaction))).all())
    assert kinds == ["Announce", "Like"]
    page = await text(await client.get("/timeline"))
    assert 'aria-pressed="true"' in page
    for action in ("unlike", "unboost"):
        await post(client, "/notes/react", {"action": action, "object": note.ap_id})
    await process(app)
    async with app.state.db.session() as db:
        assert (await db.scalars(select(Reaction))).all() == []
    # The note's own page is public; after deleting it answers 410.
    path = note.ap_id.removeprefix(app.state.settings.base_url)
    assert (await client.get(path)).status_code == 200
    resp = await post(client, "/notes/delete", {"object": note.ap_id})
    assert resp.status_code == 302
    assert (await client.get(path)).status_code == 410
    assert "square" not in await text(await client.get("/timeline"))


async def test_compose_errors_are_shown(app, client):
    await make_user(app, "ann")
    await login(client, "ann")
    resp = await post(client, "/notes", {"content": "   ", "visibility": "public"})
    assert resp.status_code == 400
    assert "error-summary" in await text(resp)
    resp = await post(client, "/notes", {"content": "to nobody", "visibility": "direct"})
    assert resp.status_code == 400
    assert await notes_of(app, "ann") == []


async def test_direct_and_followers_notes_show_to_the_right_people(app, client):
    await make_user(app, "ann")
    await make_user(app, "ben")
    await make_user(app, "cas")
    await login(client, "ann")
    await post(client, "/notes", {"content": "secret for @ben", "visibility": "direct"})
    await post(client, "/notes", {"content": "followers news", "visibility": "followers"})
    await process(app)
    notes = await notes_of(app, "ann")
    assert [n.visibility for n in notes] == ["direct", "followers"]
    # ben sees the direct note (not the followers one: he does not follow ann).
    ben = app.test_client()
    await login(ben, "ben")
    page = await text(await ben.get("/timeline"))
    assert "secret for" in page and "followers news" not in page
    cas = app.test_client()
    await login(cas, "cas")
    page = await text(await cas.get("/timeline"))
    assert "secret for" not in page and "followers news" not in page
    # Anonymous visitors get 404 for both note pages.
    anon = app.test_client()
    for note in notes:
        path = note.ap_id.removeprefix(app.state.settings.base_url)
        assert (await anon.get(path)).status_code == 404
        assert (await ben.get(path)).status_code == (200 if note.visibility == "direct" else 404)


async def test_follow_requests_of_a_locked_account(app, client):
    await make_user(app, "ann")
    ben_user = await make_user(app, "ben")
    async with app.state.db.session() as db:
        ben_actor = await db.get(Actor, ben_user.actor_id)
        ben_actor.manually_approves_followers = True
    await login(client, "ann")
    resp = await post(client, "/follow", {"handle": "ben"}, page="/follow")
    assert resp.status_code == 302
    await process(app)
    page = await text(await client.get("/follows"))
    assert "@ben@" in page and "Wacht op goedkeuring" in page
    ben = app.test_client()
    await login(ben, "ben")
    page = await text(await ben.get("/follows"))
    ann_id = re.search(r'action="/follows/(\d+)/accept"', page)
    assert ann_id, page
    resp = await post(ben, f"/follows/{ann_id.group(1)}/accept", {}, page="/follows")
    assert resp.status_code == 302
    await process(app)
    async with app.state.db.session() as db:
        (row,) = (await db.scalars(select(Follow))).all()
        assert row.accepted
    # ann's timeline now shows ben's followers-only notes.
    await post(ben, "/notes", {"content": "only for followers", "visibility": "followers"})
    await process(app)
    assert "only for followers" in await text(await client.get("/timeline"))
    # ann unfollows with the profile button; ben removes nobody.
    resp = await post(client, "/@ben/unfollow", {"next": "/follows"}, page="/follows")
    assert resp.status_code == 302 and resp.headers["Location"] == "/follows"
    await process(app)
    async with app.state.db.session() as db:
        assert (await db.scalars(select(Follow))).all() == []


async def test_follow_form_unknown_handle(app, client):
    await make_user(app, "ann")
    await login(client, "ann")
    resp = await post(client, "/follow", {"handle": "nobody"}, page="/follow")
    assert resp.status_code == 400
    assert "nobody@" in await text(resp)


async def test_dutch_is_the_default(app, client):
    await make_user(app, "ann")
    await login(client, "ann")
    page = await text(await client.get("/timeline"))
    assert "Schrijf een bericht" in page
