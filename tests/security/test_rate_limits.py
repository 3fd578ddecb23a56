"""Rate limits hold under concurrency: one atomic database step claims each attempt.

Before, a limit was a check, then the work (Argon2), then a record: 40 concurrent wrong
passwords for one account all passed the check and were all evaluated. Runs on SQLite and
PostgreSQL (where concurrent takers queue on the bucket's row).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from account_helpers import PASSWORD, csrf_from, make_user, post_form, text
from initiative_helpers import make_initiative, make_world
from remote_helpers import RemoteServer, post_signed
from sqlalchemy import func, select
from tribe_helpers import actor_named

from fedi.app import create_app
from fedi.domain import accounts, conversation, notes, ratelimit
from fedi.domain.errors import RateLimited
from fedi.domain.initiative_access import get_initiative
from fedi.http.ap.inbox_limit import DomainLimiter
from fedi.settings import Settings
from fedi.state import FediApp
from models import ApObject, User


@pytest.fixture
async def limited_app(settings: Settings) -> AsyncIterator[FediApp]:
    """An app with small, configured limits."""
    changed = settings.with_changes(
        registrations_per_ip_per_hour=6, posts_per_3_hours=3, inbox_per_domain_per_minute=3,
    )
    application = create_app(changed)
    await application.state.db.upgrade()
    async with application.test_app():
        yield application


# ---------------------------------------------------------------- the atomic step itself


async def test_concurrent_takes_never_exceed_the_limit(app: FediApp) -> None:
    limit = ratelimit.Limit("race", 10, timedelta(minutes=5))

    async def one() -> bool:
        try:
            async with app.state.db.session() as db:
                await ratelimit.take(db, limit, "victim")
                await asyncio.sleep(0)  # let the others run while this one holds its slot
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(40)))
    assert results.count(True) == 10


async def test_the_window_slides_and_slots_come_back(app: FediApp) -> None:
    limit = ratelimit.Limit("slide", 4, timedelta(seconds=100))
    start = 1_000_000.0  # a window boundary
    async with app.state.db.session() as db:
        tickets = [await ratelimit.take(db, limit, "k", now=start + 90) for _ in range(4)]
        with pytest.raises(ratelimit.LimitReached) as refused:
            await ratelimit.take(db, limit, "k", now=start + 90)
        assert refused.value.retry_after == 10
        # A slot handed back can be taken again, once.
        await ratelimit.give_back(db, tickets[0])
        await ratelimit.take(db, limit, "k", now=start + 95)
        with pytest.raises(ratelimit.LimitReached):
            await ratelimit.take(db, limit, "k", now=start + 95)
        # Just after the boundary the previous window still counts (4 * 0.9, rounded up)...
        with pytest.raises(ratelimit.LimitReached):
            await ratelimit.take(db, limit, "k", now=start + 110)
        # ...and fades out: halfway through the next window, half of it remains.
        await ratelimit.take(db, limit, "k", now=start + 150)
        await ratelimit.take(db, limit, "k", now=start + 150)
        with pytest.raises(ratelimit.LimitReached):
            await ratelimit.take(db, limit, "k", now=start + 150)


# ---------------------------------------------------------------- login


async def test_concurrent_wrong_passwords_are_capped(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    token = await csrf_from(client, "/login")

    async def guess(i: int) -> int:
        response = await client.post("/login", form={
            "csrf_token": token, "login": "alice", "password": f"Wrong-guess-{i}",
        })
        return int(response.status_code)

    statuses = await asyncio.gather(*(guess(i) for i in range(40)))
    assert statuses.count(400) == 10  # evaluated (Argon2) and wrong
    assert statuses.count(429) == 30
    # Even the right password waits now: the account is being guessed at.
    right = await client.post("/login", form={
        "csrf_token": token, "login": "alice", "password": PASSWORD,
    })
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


async def test_successful_logins_do_not_count(client: Any, app: FediApp) -> None:
    await make_user(app, "bea")
    for _ in range(15):
        response = await post_form(client, "/login", "/login",
                                   {"login": "bea", "password": PASSWORD})
        assert response.status_code == 302
        await client.post("/logout", form={"csrf_token": await csrf_from(client, "/")})


# ---------------------------------------------------------------- registration


def _registration(name: str, confirm: str = PASSWORD) -> dict[str, str]:
    return {"username": name, "email": f"{name}@example.org", "password": PASSWORD,
            "password_confirm": confirm}


async def test_registration_counts_accounts_created_and_is_configurable(
    limited_app: FediApp,
) -> None:
    # A sign-up evening on one Wi-Fi: many typos first, then everyone gets an account, up
    # to the configured six; failed forms never used up a place.
    for i in range(12):
        client = limited_app.test_client()
        failed = await post_form(client, "/register", "/register",
                                 _registration(f"typo{i}", confirm="not-the-same"))
        assert failed.status_code == 400
    for i in range(6):
        client = limited_app.test_client()
        made = await post_form(client, "/register", "/register", _registration(f"resident{i}"))
        assert made.status_code == 302, await text(made)
    client = limited_app.test_client()
    refused = await post_form(client, "/register", "/register", _registration("seventh"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


async def test_concurrent_registrations_are_capped(limited_app: FediApp) -> None:
    async def register(i: int) -> int:
        client = limited_app.test_client()
        response = await post_form(client, "/register", "/register", _registration(f"rush{i}"))
        return int(response.status_code)

    statuses = await asyncio.gather(*(register(i) for i in range(10)))
    assert statuses.count(302) == 6 and statuses.count(429) == 4
    async with limited_app.state.db.session() as db:
        assert await db.scalar(select(func.count(User.id))) == 6


def test_registration_limit_is_read_from_the_environment(tmp_path: Path) -> None:
    env = {"FEDI_DATA_DIR": str(tmp_path), "FEDI_SECRET_KEY": "x",
           "FEDI_REGISTRATIONS_PER_IP_PER_HOUR": "40", "FEDI_POSTS_PER_3_HOURS": "0",
           "FEDI_INBOX_PER_DOMAIN_PER_MINUTE": "500"}
    settings = Settings.from_env(env)
    assert settings.registrations_per_ip_per_hour == 40
    assert settings.posts_per_3_hours == 0  # 0: no limit
    assert settings.inbox_per_domain_per_minute == 500
    defaults = Settings.from_env({"FEDI_DATA_DIR": str(tmp_path), "FEDI_SECRET_KEY": "x"})
    assert defaults.registrations_per_ip_per_hour == 20


# ---------------------------------------------------------------- password reset links


async def test_guessing_reset_links_is_limited(client: Any, app: FediApp) -> None:
    for i in range(ratelimit.RESET_PER_IP.count):
        assert (await client.get(f"/reset/guess-{i}")).status_code == 404
    refused = await client.get("/reset/guess-last")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


async def test_a_valid_reset_link_does_not_use_up_the_limit(client: Any, app: FediApp) -> None:
    await make_user(app, "carl")
    async with app.state.db.session() as db:
        link = await accounts.create_reset_link(db, app.state.settings, "carl")
    path = "/reset/" + link.rsplit("/reset/", 1)[1]
    for _ in range(ratelimit.RESET_PER_IP.count + 5):
        assert (await client.get(path)).status_code == 200


async def test_guessing_the_current_password_is_limited(client: Any, app: FediApp) -> None:
    """A stolen session cannot brute-force the current password through the change form."""
    await make_user(app, "fred")
    await post_form(client, "/login", "/login", {"login": "fred", "password": PASSWORD})
    token = await csrf_from(client, "/account")

    async def attempt(i: int) -> int:
        response = await client.post("/account/password", form={
            "csrf_token": token, "current_password": f"Guess-{i}-xyz",
            "password": "Nieuw-wachtwoord-77", "password_confirm": "Nieuw-wachtwoord-77",
        })
        return int(response.status_code)

    statuses = await asyncio.gather(*(attempt(i) for i in range(15)))
    assert statuses.count(429) == 15 - ratelimit.PASSWORD_CHANGE_PER_ACCOUNT.count
    assert 302 not in statuses


# ---------------------------------------------------------------- posting


async def test_concurrent_posts_are_capped(limited_app: FediApp) -> None:
    user = await make_user(limited_app, "dora")
    state = limited_app.state

    async def post(i: int) -> bool:
        try:
            async with state.db.session() as db:
                author = await db.get(type(user.actor), user.actor_id)
                assert author is not None
                await notes.create_note(db, state, author, f"Post number {i}")
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(post(i) for i in range(8)))
    assert results.count(True) == 3
    async with state.db.session() as db:
        count = await db.scalar(
            select(func.count(ApObject.id)).where(ApObject.attributed_to_id == user.actor_id)
        )
    assert count == 3


async def test_initiative_messages_and_comments_count_as_posts(limited_app: FediApp) -> None:
    world = await make_world(limited_app)
    initiative = await make_initiative(limited_app, world)
    state = limited_app.state
    outcomes = []
    for i in range(4):
        try:
            async with state.db.session() as db:
                item = await get_initiative(db, initiative.id)
                bob = await actor_named(db, "bob")
                if i % 2:
                    await conversation.add_comment(db, state.settings, item, bob, f"Comment {i}")
                else:
                    await conversation.post_message(db, state.settings, item, bob, f"Message {i}")
        except RateLimited:
            outcomes.append("refused")
        else:
            outcomes.append("posted")
    # The limit is three posts of any kind; a note on top of them is refused too.
    assert outcomes == ["posted", "posted", "posted", "refused"]
    with pytest.raises(RateLimited):
        async with state.db.session() as db:
            await notes.create_note(db, state, await actor_named(db, "bob"), "One more")
    async with state.db.session() as db:
        ann = await actor_named(db, "ann")
        item = await get_initiative(db, initiative.id)
        # Another person's posts are counted apart.
        await conversation.post_message(db, state.settings, item, ann, "Ann's own message")


async def test_the_c2s_outbox_answers_429_with_retry_after(limited_app: FediApp) -> None:
    await make_user(limited_app, "emma")
    async with limited_app.state.db.session() as db:
        token = await accounts.create_token(db, "emma", "test")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/activity+json"}
    note = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
            "content": "hello", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as http:
        statuses = []
        for _ in range(4):
            response = await http.post("/users/emma/outbox", content=orjson.dumps(note),
                                       headers=headers)
            statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    assert int(response.headers["Retry-After"]) > 0


# ---------------------------------------------------------------- the inbox, per domain


def test_domain_limiter_slides_per_domain() -> None:
    limiter = DomainLimiter(3)
    assert [limiter.hit("a.example", now=30.0) for _ in range(3)] == [None, None, None]
    assert limiter.hit("a.example", now=30.0) == 30  # seconds until the window ends
    assert limiter.hit("b.example", now=30.0) is None  # other servers are not affected
    assert limiter.hit("a.example", now=65.0) is not None  # 3 * 55/60 still counts
    assert limiter.hit("a.example", now=100.0) is None  # 3 * 20/60 = 1 counts
    assert DomainLimiter(0).hit("a.example") is None  # 0: no limit


async def test_the_inbox_answers_429_per_remote_domain(settings: Settings) -> None:
    remote = RemoteServer("flood.example")
    app = create_app(
        settings.with_changes(inbox_per_domain_per_minute=3), http_transport=remote
    )
    await app.state.db.upgrade()
    responses = []
    async with app.test_app():
        for i in range(5):
            activity = remote.like(i, f"{settings.base_url}/notes/1")
            responses.append(await post_signed(app, remote, activity))
    assert [r.status_code for r in responses] == [202, 202, 202, 429, 429]
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses[3:])
