"""The anonymous page cache and the actor document cache in front of the app, and the paged
tribe and initiative pages: who gets a cached page, whose token is in it, and when a change
shows."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update

from activitypub.vocab import ACTIVITY_JSON
from fedi.db import Database
from fedi.db_changes import Changes
from fedi.domain import conversation, tribes
from fedi.domain.initiative_access import get_initiative
from fedi.federation.documents.cache import DocumentCache, document_cache, key_for_path
from fedi.http.web.cache import page_cache
from fedi.state import FediApp
from models import Actor, Comment
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import actor_named, login, make_person, make_tribe

AP = {"Accept": ACTIVITY_JSON}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


def _tokens(page: str) -> set[str]:
    return set(_CSRF.findall(page))


async def test_anonymous_tribe_page_is_cached_with_each_visitors_own_token(app: FediApp) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein", theme="Het plein")
    first, second = app.test_client(), app.test_client()
    page_one = await _text(await first.get("/tribes/plein"))
    assert "Het plein" in page_one
    cache = page_cache(app.state)
    assert any(key[0] == "/tribes/plein" for key in cache.entries)
    # The second visitor is answered from the cache: the same page with a token of its own.
    response = await second.get("/tribes/plein")
    page_two = await _text(response)
    assert "set-cookie" in {name.lower() for name in response.headers.keys()}
    assert page_two.replace(_CSRF.search(page_two)[1], "") == page_one.replace(  # type: ignore[index]
        _CSRF.search(page_one)[1], ""  # type: ignore[index]
    )
    assert _tokens(page_one) and _tokens(page_two) and _tokens(page_one) != _tokens(page_two)
    assert cache.placeholder not in page_two
    # Each token works for its own browser (the language switch is a CSRF-checked form).
    for client, page in ((first, page_one), (second, page_two)):
        token = next(iter(_tokens(page)))
        switched = await client.post(
            "/language", form={"lang": "en", "next": "/tribes/plein", "csrf_token": token}
        )
        assert switched.status_code in (302, 303)
    # ... and not for the other one.
    token_one = next(iter(_tokens(page_one)))
    refused = await second.post(
        "/language", form={"lang": "en", "next": "/", "csrf_token": token_one}
    )
    assert refused.status_code == 400
    # The English page is cached on its own (the locale is part of the key).
    english = await _text(await first.get("/tribes/plein"))
    assert "About this tribe" in english and "About this tribe" not in page_one


async def test_a_change_in_this_process_shows_at_once(app: FediApp) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein", theme="Het plein")
    client = app.test_client()
    assert "Het plein" in await _text(await client.get("/tribes/plein"))
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribes.update_tribe(
            db, app.state.settings, tribe, await actor_named(db, "fatima"),
            theme="Het nieuwe plein",
        )
    assert "Het nieuwe plein" in await _text(await client.get("/tribes/plein"))


async def test_logged_in_people_and_restricted_pages_are_never_cached(app: FediApp) -> None:
    world = await make_world(app)
    public = await make_initiative(app, world, name="Open plan")
    hidden = await make_initiative(app, world, name="Leden plan", visibility="members")
    visitor = app.test_client()
    assert "Open plan" in await _text(await visitor.get(f"/initiatives/{public.id}"))
    member = app.test_client()
    await login(member, "bob")
    # A member gets their own page (with the log-out form), not the cached anonymous one.
    page = await _text(await member.get(f"/initiatives/{public.id}"))
    assert "/logout" in page and "Open plan" in page
    assert "/logout" in await _text(await member.get("/tribes/plein"))
    # The members-only initiative is shown to the member and never kept for anyone else.
    assert "Leden plan" in await _text(await member.get(f"/initiatives/{hidden.id}"))
    assert not any(key[0] == f"/initiatives/{hidden.id}" for key in page_cache(app.state).entries)
    assert (await visitor.get(f"/initiatives/{hidden.id}")).status_code == 404
    # Anonymous pages list only public initiatives.
    listing = await _text(await visitor.get("/tribes/plein"))
    assert "Open plan" in listing and "Leden plan" not in listing


async def test_person_document_cache_and_invalidation(app: FediApp) -> None:
    await make_person(app, "fatima")
    client = app.test_client()
    miss = await client.get("/users/fatima", headers=AP)
    assert miss.status_code == 200
    cache = document_cache(app.state)
    assert cache.get("person:fatima") is not None
    hit = await client.get("/users/fatima", headers=AP)
    # Answered by the middleware from the cache: the same bytes and the same headers.
    assert await hit.get_data() == await miss.get_data()
    # (Each response has its own request id, fedi/http/ops.)
    assert {k.lower(): v for k, v in hit.headers.items() if k.lower() != "x-request-id"} == {
        k.lower(): v for k, v in miss.headers.items() if k.lower() != "x-request-id"
    }
    # A profile change in this process is served at once.
    async with app.state.db.session() as db:
        actor = await actor_named(db, "fatima")
        actor.display_name = "Fatima B."
    document = await (await client.get("/users/FATIMA", headers=AP)).get_json()
    assert document["name"] == "Fatima B."
    # A key rotation too (the key is what remote servers come back for).
    async with app.state.db.session() as db:
        actor = await actor_named(db, "fatima")
        actor.public_key_pem = "-----BEGIN PUBLIC KEY-----\nnew\n-----END PUBLIC KEY-----\n"
    document = await (await client.get("/users/fatima", headers=AP)).get_json()
    assert document["publicKey"]["publicKeyPem"].endswith("new\n-----END PUBLIC KEY-----\n")


async def test_group_and_instance_documents_follow_changes(app: FediApp) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein")
    client = app.test_client()
    assert (await (await client.get("/tribes/plein", headers=AP)).get_json())["name"] == "Plein"
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribes.update_tribe(
            db, app.state.settings, tribe, await actor_named(db, "fatima"), join_mode="approval"
        )
    group = await (await client.get("/tribes/plein", headers=AP)).get_json()
    assert group["manuallyApprovesFollowers"] is True
    instance = await client.get("/actor", headers=AP)
    assert (await instance.get_json())["type"] == "Application"
    assert document_cache(app.state).get("instance") is not None


async def test_a_second_database_object_on_the_same_file_invalidates(app: FediApp) -> None:
    """Another session factory in this process (the CLI's, a test's) is seen too; only
    another *process* has to wait for the time-to-live."""
    await make_person(app, "fatima")
    client = app.test_client()
    await client.get("/users/fatima", headers=AP)
    other = Database(app.state.settings.database_url, schema=app.state.settings.database_schema)
    try:
        async with other.session() as db:
            await db.execute(
                update(Actor).where(Actor.username == "fatima").values(display_name="Via CLI")
            )
    finally:
        await other.dispose()
    document = await (await client.get("/users/fatima", headers=AP)).get_json()
    assert document["name"] == "Via CLI"


def test_document_cache_ttl_generation_and_keys() -> None:
    now = [100.0]
    cache = DocumentCache(ttl=30, max_entries=2, clock=lambda: now[0])
    generation = cache.generation
    cache.put("person:a", 1, b"a", generation)
    assert cache.get("person:a") == b"a"
    # Built from rows read before a change committed: not stored.
    stale_generation = cache.generation
    cache.on_changes(Changes(actor_ids={2}))
    cache.put("person:b", 2, b"old b", stale_generation)
    assert cache.get("person:b") is None
    cache.put("person:b", 2, b"b", cache.generation)
    cache.on_changes(Changes(actor_ids={1}))
    assert cache.get("person:a") is None and cache.get("person:b") == b"b"
    # Changes by another process are bounded by the time-to-live.
    now[0] += 31
    assert cache.get("person:b") is None
    # Bounded size: the oldest entry goes first.
    for number in range(3):
        cache.put(f"person:{number}", number, b"x", cache.generation)
    assert len(cache) == 2 and cache.get("person:0") is None
    assert key_for_path("/users/Fatima") == "person:fatima"
    assert key_for_path("/tribes/plein") == "group:plein"
    assert key_for_path("/actor") == "instance"
    assert key_for_path("/tribes/plein/members") is None
    assert key_for_path("/users/") is None


async def test_tribe_page_shows_the_newest_initiatives_and_the_list_is_paged(
    app: FediApp,
) -> None:
    world = await make_world(app)
    for number in range(30):
        await make_initiative(app, world, name=f"Plan nummer {number:02d}")
    client = app.test_client()
    page = await _text(await client.get("/tribes/plein"))
    shown = re.findall(r"Plan nummer (\d\d)", page)
    assert shown == ["29", "28", "27", "26", "25", "24"]
    assert "30 initiatives" in page or "30 initiatieven" in page
    card = re.compile(r'<h3><a href="/initiatives/\d+">Plan nummer (\d\d)</a></h3>')
    first = await _text(await client.get("/tribes/plein/initiatives"))
    assert card.findall(first) == [f"{n:02d}" for n in range(29, 5, -1)]
    assert "/tribes/plein/initiatives?page=2" in first
    second = await _text(await client.get("/tribes/plein/initiatives?page=2"))
    assert card.findall(second) == ["05", "04", "03", "02", "01", "00"]


async def test_initiative_page_shows_the_newest_comments_and_pages_the_rest(
    app: FediApp,
) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        bob = await actor_named(db, "bob")
        for number in range(60):
            await conversation.add_comment(
                db, app.state.settings, item, bob, f"Reactie nummer {number:02d}"
            )
        assert await db.scalar(select(func.count(Comment.id))) == 60
    client = app.test_client()
    page = await _text(await client.get(f"/initiatives/{initiative.id}"))
    # The page's conversation stream reads newest first (the full conversation page below
    # keeps the order of a thread).
    assert re.findall(r"Reactie nummer (\d\d)", page) == [f"{n:02d}" for n in range(59, 39, -1)]
    link = f"/initiatives/{initiative.id}/conversation"
    assert link in page and ("60 comments" in page or "60 reacties" in page)
    # The conversation opens on its newest page; older pages are a link away.
    newest = await _text(await client.get(link))
    assert re.findall(r"Reactie nummer (\d\d)", newest) == [f"{n:02d}" for n in range(50, 60)]
    assert f"{link}?page=1" in newest
    oldest = await _text(await client.get(f"{link}?page=1"))
    assert re.findall(r"Reactie nummer (\d\d)", oldest) == [f"{n:02d}" for n in range(50)]
    assert (await client.get(f"{link}?update=999999")).status_code == 404


async def test_an_expired_page_is_rendered_once_for_concurrent_visitors(app: FediApp) -> None:
    import asyncio

    from sqlalchemy import event

    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein")
    client = app.test_client()
    await client.get("/tribes/plein")
    cache = page_cache(app.state)
    (key,) = [key for key in cache.entries if key[0] == "/tribes/plein"]
    cache.entries[key].expires = cache.clock() - 0.01  # as if a second went by
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM tribes" in statement:
            lookups.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        pages = await asyncio.gather(*(client.get("/tribes/plein") for _ in range(8)))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [page.status_code for page in pages] == [200] * 8
    assert len(lookups) == 1  # one render; the other seven waited for it
