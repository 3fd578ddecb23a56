"""Rules that need no database: local names, passwords, e-mail addresses, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fedi.db import Database
from fedi.domain import ratelimit
from fedi.domain.accounts import validate_email
from fedi.domain.errors import RateLimited, ServiceError
from fedi.domain.names import validate_local_name
from fedi.domain.passwords import check_password_strength, hash_password, verify_password


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"), (" Alice ", "alice"), ("@bob_2", "bob_2"), ("ab", "ab"),
        ("a" * 30, "a" * 30),
    ],
)
def test_valid_names(raw: str, expected: str) -> None:
    assert validate_local_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "a", "a" * 31, "2fast", "_under", "with space", "dash-name", "émile", "dot.name",
     "admin", "Inbox", "users", "tribes", "well_known", "nodeinfo", "healthz", "settings"],
)
def test_invalid_or_reserved_names(raw: str) -> None:
    with pytest.raises(ServiceError) as error:
        validate_local_name(raw)
    assert error.value.field == "username"


@pytest.mark.parametrize(
    "password",
    ["short1!", "alllowercaseletters", "1234567890123", "Password2024!", "Welkom2024!!",
     "qwertyuiop", "aaaaaaaaaA1", "alice-rocks-99", "mymail-xyz-12"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ServiceError) as error:
        check_password_strength(password, username="alice", email="mymail@example.org")
    assert error.value.field == "password"


@pytest.mark.parametrize("password", ["Zonnebloem-42", "correct horse battery 7", "tulp&Fiets9x"])
def test_good_passwords_pass(password: str) -> None:
    check_password_strength(password, username="alice", email="mymail@example.org")


def test_hash_and_verify() -> None:
    stored = hash_password("Zonnebloem-42")
    assert verify_password(stored, "Zonnebloem-42") == (True, False)
    assert verify_password(stored, "zonnebloem-42")[0] is False
    assert verify_password("not a hash", "x") == (False, False)


@pytest.mark.parametrize("email", ["a@example.org", " Some.One+tag@Sub.Example.NL "])
def test_valid_email(email: str) -> None:
    assert validate_email(email) == email.strip().lower()


@pytest.mark.parametrize(
    "email", ["", "plain", "a@b", "a@@b.org", "a b@example.org", "@example.org"]
)
def test_invalid_email(email: str) -> None:
    with pytest.raises(ServiceError):
        validate_email(email)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'rl.sqlite3'}")
    await db.upgrade()
    yield db
    await db.dispose()


async def test_rate_limit_counts_per_bucket(sqlite_db: Database) -> None:
    limit = ratelimit.Limit("test", 3, ratelimit.LOGIN_PER_IP.window)
    async with sqlite_db.session() as db:
        for _ in range(3):
            await ratelimit.take(db, limit, "1.2.3.4")
        with pytest.raises(RateLimited):
            await ratelimit.take(db, limit, "1.2.3.4")
        await ratelimit.take(db, limit, "5.6.7.8")  # another key is not affected
        await ratelimit.reset(db, limit, "1.2.3.4")
        await ratelimit.take(db, limit, "1.2.3.4")
