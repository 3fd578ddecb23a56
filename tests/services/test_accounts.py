"""The account services on SQLite and PostgreSQL: people, registration modes, logins, resets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from fedi.db import Database
from fedi.domain import accounts
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.names import name_is_taken
from fedi.settings import Settings
from models import Actor, LoginSession, PasswordReset, RegistrationInvite, User, utcnow

PASSWORD = "Zonnebloem-42"


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised engine."""
    db = Database(settings.database_url, schema=settings.database_schema)
    await db.upgrade()
    yield db
    await db.dispose()


async def make_user(db: Database, settings: Settings, name: str, **kwargs: object) -> User:
    async with db.session() as session:
        return await accounts.create_user(
            session, settings, username=name, email=f"{name}@example.org", password=PASSWORD,
            **kwargs,  # type: ignore[arg-type]
        )


async def test_create_user_builds_a_local_person_actor(
    database: Database, settings: Settings
) -> None:
    user = await make_user(database, settings, "Alice", display_name="Alice A.")
    actor = user.actor
    base = "http://localhost:8000"
    assert actor.username == "alice"
    assert actor.ap_id == f"{base}/users/alice"
    assert actor.url == f"{base}/@alice"
    assert actor.inbox == f"{base}/users/alice/inbox"
    assert actor.outbox == f"{base}/users/alice/outbox"
    assert actor.followers_url == f"{base}/users/alice/followers"
    assert actor.following_url == f"{base}/users/alice/following"
    assert actor.shared_inbox == f"{base}/inbox"
    assert actor.key_id == f"{base}/users/alice#main-key"
    assert actor.local and actor.type == "Person" and actor.domain == "localhost:8000"
    assert actor.public_key_pem and "BEGIN PUBLIC KEY" in actor.public_key_pem
    assert actor.private_key_pem and "PRIVATE KEY" in actor.private_key_pem
    assert user.password_hash.startswith("$argon2id$")
    assert user.email == "alice@example.org" and user.approved and not user.is_admin


async def test_duplicates_are_refused(database: Database, settings: Settings) -> None:
    await make_user(database, settings, "alice")
    async with database.session() as session:
        with pytest.raises(Conflict) as taken:
            await accounts.create_user(
                session, settings, username="ALICE", email="other@example.org", password=PASSWORD
            )
        assert taken.value.field == "username"
        with pytest.raises(Conflict) as email:
            await accounts.create_user(
                session, settings, username="bob", email="Alice@Example.org", password=PASSWORD
            )
        assert email.value.field == "email"


async def test_a_tribe_and_a_person_never_share_a_name(
    database: Database, settings: Settings
) -> None:
    async with database.session() as session:
        session.add(
            Actor(ap_id=settings.url("/tribes/gardens"), type="Group", local=True,
                  username="gardens", domain=settings.host)
        )
    async with database.session() as session:
        assert await name_is_taken(session, "Gardens")
        assert not await name_is_taken(session, "garden")
        with pytest.raises(Conflict):
            await accounts.create_user(
                session, settings, username="gardens", email="g@example.org", password=PASSWORD
            )


async def test_authenticate_by_name_email_and_handle(
    database: Database, settings: Settings
) -> None:
    await make_user(database, settings, "alice")
    async with database.session() as session:
        assert (await accounts.authenticate(session, "Alice", PASSWORD)).actor.username == "alice"
        assert (await accounts.authenticate(session, "ALICE@example.org", PASSWORD)).email
        assert await accounts.authenticate(session, "@alice@localhost:8000", PASSWORD)
        with pytest.raises(ServiceError) as wrong:
            await accounts.authenticate(session, "alice", "Not-the-password-1")
        assert not isinstance(wrong.value, Forbidden)
        with pytest.raises(ServiceError) as unknown:
            await accounts.authenticate(session, "nobody", PASSWORD)
        # The same words for an unknown account as for a wrong password.
        assert str(unknown.value) == str(wrong.value)


async def test_pending_and_disabled_accounts_are_told_apart_only_with_the_password(
    database: Database, settings: Settings
) -> None:
    await make_user(database, settings, "pending", approved=False)
    await make_user(database, settings, "blocked")
    async with database.session() as session:
        await accounts.set_disabled(session, "blocked", True)
    async with database.session() as session:
        with pytest.raises(Forbidden, match="waiting for approval"):
            await accounts.authenticate(session, "pending", PASSWORD)
        with pytest.raises(Forbidden, match="disabled"):
            await accounts.authenticate(session, "blocked", PASSWORD)
        for name in ("pending", "blocked"):
            with pytest.raises(ServiceError) as wrong:
                await accounts.authenticate(session, name, "Wrong-password-9")
            assert not isinstance(wrong.value, Forbidden)


async def test_login_rehashes_when_the_parameters_changed(
    database: Database, settings: Settings
) -> None:
    user = await make_user(database, settings, "alice")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with database.session() as session:
        (await session.get(User, user.id)).password_hash = weak  # type: ignore[union-attr]
    async with database.session() as session:
        await accounts.authenticate(session, "alice", PASSWORD)
    async with database.session() as session:
        stored = (await session.get(User, user.id)).password_hash  # type: ignore[union-attr]
    assert stored != weak and "m=8192" not in stored


async def test_registration_modes(database: Database, settings: Settings) -> None:
    async with database.session() as session:
        assert await accounts.get_registration_mode(session, settings) == "open"
        open_user = await accounts.register(
            session, settings, username="first", email="first@example.org", password=PASSWORD
        )
        assert open_user.approved
        await accounts.set_registration_mode(session, "approval")
    async with database.session() as session:
        with pytest.raises(ServiceError) as no_reason:
            await accounts.register(
                session, settings, username="second", email="s@example.org", password=PASSWORD
            )
        assert no_reason.value.field == "reason"
        pending = await accounts.register(
            session, settings, username="second", email="s@example.org", password=PASSWORD,
            reason="I live here",
        )
        assert not pending.approved and pending.registration_reason == "I live here"
        assert [u.actor.username for u in await accounts.list_users(session, pending=True)] == [
            "second"
        ]
        await accounts.approve_user(session, "second")
        await accounts.set_registration_mode(session, "invite")
        with pytest.raises(ServiceError):
            await accounts.set_registration_mode(session, "everyone")
    async with database.session() as session:
        with pytest.raises(Forbidden):
            await accounts.register(
                session, settings, username="third", email="t@example.org", password=PASSWORD
            )
        link = await accounts.create_invite(session, settings, None, max_uses=1)
        token = link.split("invite=", 1)[1]
        assert link.startswith("http://localhost:8000/register?invite=")
        invited = await accounts.register(
            session, settings, username="third", email="t@example.org", password=PASSWORD,
            invite_token=token,
        )
        assert invited.approved
        with pytest.raises(Forbidden):
            await accounts.register(
                session, settings, username="fourth", email="f@example.org", password=PASSWORD,
                invite_token=token,
            )
        stored = await session.scalar(select(RegistrationInvite))
        assert stored is not None and stored.uses == 1 and token not in stored.token_hash


async def test_expired_invites_do_not_work(database: Database, settings: Settings) -> None:
    async with database.session() as session:
        link = await accounts.create_invite(session, settings, None, max_uses=5)
        invite = await session.scalar(select(RegistrationInvite))
        assert invite is not None
        invite.expires_at = utcnow() - timedelta(minutes=1)
    async with database.session() as session:
        assert await accounts.find_invite(session, link.split("invite=", 1)[1]) is None


async def test_reject_deletes_the_pending_account(database: Database, settings: Settings) -> None:
    await make_user(database, settings, "maybe", approved=False)
    await make_user(database, settings, "member")
    async with database.session() as session:
        with pytest.raises(Conflict):
            await accounts.reject_user(session, "member")
        await accounts.reject_user(session, "maybe")
    async with database.session() as session:
        assert await accounts.find_user(session, "maybe") is None
        assert not await name_is_taken(session, "maybe")


async def test_reset_link_works_once_and_ends_sessions(
    database: Database, settings: Settings
) -> None:
    user = await make_user(database, settings, "alice")
    async with database.session() as session:
        session.add(LoginSession(user_id=user.id, token_hash="x" * 64, csrf_token="c",
                                 expires_at=utcnow() + timedelta(days=1)))
        link = await accounts.create_reset_link(session, settings, "alice")
    assert link.startswith("http://localhost:8000/reset/")
    token = link.rsplit("/", 1)[1]
    async with database.session() as session:
        with pytest.raises(ServiceError, match="at least"):
            await accounts.reset_password(session, token, "short")
    async with database.session() as session:
        await accounts.reset_password(session, token, "Nieuwe-lente-77")
    async with database.session() as session:
        with pytest.raises(NotFound):
            await accounts.reset_password(session, token, "Nog-een-keer-88")
        assert await session.scalar(select(func.count(LoginSession.id))) == 0
        assert await accounts.authenticate(session, "alice", "Nieuwe-lente-77")
        reset = await session.scalar(select(PasswordReset))
        assert reset is not None and reset.token_hash != token


async def test_expired_reset_links_do_not_work(database: Database, settings: Settings) -> None:
    await make_user(database, settings, "alice")
    async with database.session() as session:
        link = await accounts.create_reset_link(session, settings, "alice")
        reset = await session.scalar(select(PasswordReset))
        assert reset is not None
        reset.expires_at = utcnow() - timedelta(seconds=1)
    async with database.session() as session:
        with pytest.raises(NotFound):
            await accounts.reset_password(session, link.rsplit("/", 1)[1], "Nieuwe-lente-77")


async def test_change_password(database: Database, settings: Settings) -> None:
    user = await make_user(database, settings, "alice")
    async with database.session() as session:
        with pytest.raises(ServiceError) as wrong:
            await accounts.change_password(session, user, "nope", "Nieuwe-lente-77")
        assert wrong.value.field == "current_password"
        with pytest.raises(ServiceError, match="name or e-mail"):
            await accounts.change_password(session, user, PASSWORD, "alice-is-great-1")
        await accounts.change_password(session, user, PASSWORD, "Nieuwe-lente-77")
    async with database.session() as session:
        assert await accounts.authenticate(session, "alice", "Nieuwe-lente-77")


async def test_api_tokens(database: Database, settings: Settings) -> None:
    user = await make_user(database, settings, "alice")
    async with database.session() as session:
        token = await accounts.create_token(session, "alice", "my app")
        second = await accounts.create_token(session, "alice")
    assert token.startswith("fpt_") and len(token) > 40
    async with database.session() as session:
        found = await accounts.authenticate_token(session, token)
        assert found is not None and found.id == user.id
        listed = await accounts.list_tokens(session, user)
        assert {t.label for t in listed} == {"my app", ""}
        assert all(t.token_hash != token for t in listed)
        mine = next(t for t in listed if t.label == "my app")
        assert mine.last_used_at is not None and token.startswith(mine.prefix)
        assert await accounts.authenticate_token(session, "fpt_wrong") is None
        assert await accounts.authenticate_token(session, "") is None
        assert await accounts.revoke_token(session, "alice", token[:12]) == 1
    async with database.session() as session:
        assert await accounts.authenticate_token(session, token) is None
        assert await accounts.authenticate_token(session, second) is not None
        await accounts.set_disabled(session, "alice", True)
    async with database.session() as session:
        assert await accounts.authenticate_token(session, second) is None
        assert await accounts.revoke_token(session, "alice", "all") == 1
        with pytest.raises(NotFound):
            await accounts.revoke_token(session, "alice", "all")


async def test_the_last_admin_keeps_the_role(database: Database, settings: Settings) -> None:
    admin = await make_user(database, settings, "boss", is_admin=True)
    async with database.session() as session:
        with pytest.raises(Conflict):
            await accounts.set_admin(session, "boss", False)
        with pytest.raises(Forbidden):
            await accounts.set_disabled(session, "boss", True, acting=admin)
        with pytest.raises(Conflict):
            await accounts.set_disabled(session, "boss", True)
    await make_user(database, settings, "helper")
    async with database.session() as session:
        await accounts.set_admin(session, "helper", True)
        await accounts.set_admin(session, "boss", False)
        counts = await accounts.count_users(session)
    assert counts["admins"] == 1 and counts["active"] == 2
