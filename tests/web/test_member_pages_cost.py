"""The tribe page and the initiative page as a logged-in member sees them (never from the page
cache) run a fixed, small number of statements, however many members, initiatives, comments
and supporters there are: no query per row, no list read in full to show a few."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from fedi.state import FediApp
from models import (
    Actor,
    Comment,
    Initiative,
    InitiativeSupporter,
    InitiativeUpdate,
    TribeMember,
    utcnow,
)
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import login

# What the two pages may cost (see fedi.http.web.tribes.show and initiatives.show). The
# header's unread count is read with the session, in the same statement.
TRIBE_PAGE_MAX = 7
# Session (with the unread count), initiative, the viewer's role, the numbers, messages,
# comments (the initiative's own thread through its index, the threads under the shown
# messages), partners, supporters, the progress chart (one UNION), open offers.
INITIATIVE_PAGE_MAX = 11


async def _statements(app: FediApp, client: Any, path: str) -> tuple[int, str]:
    """How many statements a GET of ``path`` ran, and the page."""
    await client.get(path)  # the first view may fill the tribe's numbers cache
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = await client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), str(await response.get_data(as_text=True))


async def _grow(app: FediApp, tribe_id: int, initiative_id: int, owner_id: int) -> None:
    """40 more members who comment and support, 12 messages with replies, 30 initiatives
    (every third for members only)."""
    now = utcnow()
    async with app.state.db.session() as db:
        people = [
            Actor(ap_id=f"https://many.example/users/p{n}", type="Person", local=False,
                  username=f"p{n}", domain="many.example", inbox="https://many.example/inbox",
                  languages=[], links=[])
            for n in range(40)
        ]
        db.add_all(people)
        await db.flush()
        messages = [
            InitiativeUpdate(initiative_id=initiative_id, kind="message", actor_id=owner_id,
                             payload={}, content_source=f"Stand {n}",
                             content_html=f"<p>Stand {n}</p>",
                             created_at=now - timedelta(hours=n))
            for n in range(12)
        ]
        db.add_all(messages)
        await db.flush()
        for n, person in enumerate(people):
            db.add(TribeMember(tribe_id=tribe_id, actor_id=person.id, role="member",
                               state="active", joined_at=now, message=""))
            db.add(InitiativeSupporter(initiative_id=initiative_id, actor_id=person.id))
            db.add(Comment(initiative_id=initiative_id, author_id=person.id,
                           content_source=f"Reactie {n}", content_html=f"<p>Reactie {n}</p>",
                           created_at=now - timedelta(minutes=n)))
            db.add(Comment(initiative_id=initiative_id, author_id=person.id,
                           update_id=messages[n % len(messages)].id,
                           content_source=f"Antwoord {n}", content_html=f"<p>Antwoord {n}</p>",
                           created_at=now - timedelta(minutes=n)))
        for n in range(30):
            db.add(Initiative(tribe_id=tribe_id, creator_id=owner_id, name=f"Plan {n}",
                              summary="", description_html="", tags=[],
                              visibility="members" if n % 3 == 0 else "public",
                              created_at=now - timedelta(days=1, minutes=n)))


async def test_member_pages_do_not_grow_with_what_they_list(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    bob = app.test_client()
    await login(bob, "bob")
    tribe_path, item_path = "/tribes/plein", f"/initiatives/{item.id}"
    small_tribe, _page = await _statements(app, bob, tribe_path)
    small_item, _page = await _statements(app, bob, item_path)
    assert small_tribe <= TRIBE_PAGE_MAX
    assert small_item <= INITIATIVE_PAGE_MAX

    await _grow(app, world.tribe.id, item.id, world.ann.id)
    big_tribe, tribe_page = await _statements(app, bob, tribe_path)
    big_item, item_page = await _statements(app, bob, item_path)
    assert (big_tribe, big_item) == (small_tribe, small_item)
    # The pages still show the newest few, and link to the rest.
    assert "Plan 0" in tribe_page  # members only, and bob is a member
    assert "/tribes/plein/initiatives" in tribe_page
    assert "Reactie 0" in item_page and "Reactie 39" not in item_page
    assert f"{item_path}/conversation" in item_page
    assert "Stand 0" in item_page and "Antwoord 0" in item_page

    outsider = app.test_client()
    await login(outsider, "cas")
    _count, seen_by_cas = await _statements(app, outsider, tribe_path)
    assert "Plan 0" not in seen_by_cas and "Plan 1" in seen_by_cas


async def test_members_page_is_paged(app: FediApp) -> None:
    world = await make_world(app)
    now = utcnow()
    async with app.state.db.session() as db:
        people = [
            Actor(ap_id=f"https://many.example/users/m{n:03d}", type="Person", local=False,
                  username=f"m{n:03d}", domain="many.example", inbox="https://many.example/inbox",
                  languages=[], links=[])
            for n in range(110)
        ]
        db.add_all(people)
        await db.flush()
        db.add_all([
            TribeMember(tribe_id=world.tribe.id, actor_id=person.id, role="member",
                        state="active", joined_at=now + timedelta(seconds=n), message="")
            for n, person in enumerate(people)
        ])
    client = app.test_client()
    first = str(await (await client.get("/tribes/plein/members")).get_data(as_text=True))
    # ann (admin) first, then bob and the newcomers in the order they joined: 100 a page.
    assert "@ann@" in first and "@m000@" in first and "@m097@" in first
    assert "@m098@" not in first
    assert 'rel="next" href="/tribes/plein/members?page=2"' in first
    assert 'rel="prev"' not in first
    second = str(await (await client.get("/tribes/plein/members?page=2")).get_data(as_text=True))
    assert "@m098@" in second and "@m109@" in second and "@m000@" not in second
    assert 'rel="prev" href="/tribes/plein/members?page=1"' in second
    assert 'rel="next"' not in second
