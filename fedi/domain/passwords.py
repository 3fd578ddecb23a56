"""Password hashing (Argon2id) and the strength rule for new passwords."""

from __future__ import annotations

import os
import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fedi.domain.common_passwords import COMMON_PASSWORDS, COMMON_STEMS
from fedi.domain.errors import ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 1000  # Argon2 handles long input, but there is no reason to accept megabytes.



def _make_hasher() -> PasswordHasher:
    """argon2-cffi's defaults (RFC 9106's low-memory profile), or a cheap one for tests.

    When a later release raises the defaults, ``needs_rehash`` tells us at the next login
    and the stored hash is upgraded. ``FEDI_TEST_CHEAP_HASHES=1`` exists only so that the
    test suite, which creates hundreds of accounts, does not spend minutes hashing; it is
    never meant for a real instance.
    """
    if os.environ.get("FEDI_TEST_CHEAP_HASHES") == "1":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


_hasher = _make_hasher()


def hash_password(password: str) -> str:
    """The Argon2id hash to store for ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, bool]:
    """Check a password; returns ``(matches, needs_rehash)``."""
    try:
        _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: every ``fedi`` command imports this module.
    return _hasher.hash("not-a-real-password-only-for-timing")


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification, for logins that name no account.

    The answer then takes as long as for a real account, so timing does not tell which
    names exist.
    """
    verify_password(_dummy_hash(), password)


def _char_classes(password: str) -> int:
    classes = 0
    classes += any(c.islower() for c in password)
    classes += any(c.isupper() for c in password)
    classes += any(c.isdigit() for c in password)
    classes += any(not c.isalnum() for c in password)
    return classes


def check_password_strength(password: str, *, username: str = "", email: str = "") -> None:
    """Refuse a weak new password with a message that says how to make it better."""
    field = "password"
    if len(password) < MIN_LENGTH:
        raise ServiceError(
            "Your password needs at least %(min)s characters.", field=field, min=MIN_LENGTH
        )
    if len(password) > MAX_LENGTH:
        raise ServiceError(
            "Your password may have at most %(max)s characters.", field=field, max=MAX_LENGTH
        )
    if _char_classes(password) < 2 or len(set(password)) < 5:
        raise ServiceError(
            "Your password is too simple: mix letters with digits, capitals or other signs.",
            field=field,
        )
    lowered = password.lower()
    stem = re.sub(r"[^a-z]+$", "", re.sub(r"^[^a-z]+", "", lowered))
    if lowered in COMMON_PASSWORDS or stem in COMMON_STEMS:
        raise ServiceError(
            "This password is one of the most used ones and is guessed first. "
            "Please choose another.",
            field=field,
        )
    name = username.strip().lower()
    local_part = email.strip().lower().split("@", 1)[0]
    for part in (name, local_part):
        if len(part) >= 3 and part in lowered:
            raise ServiceError(
                "Your password may not contain your name or e-mail address.", field=field
            )
