"""Password hashing (Argon2id) and the strength rule for new passwords."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fedi.services.common_passwords import COMMON_PASSWORDS, COMMON_STEMS
from fedi.services.errors import ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 1000  # Argon2 handles long input, but there is no reason to accept megabytes.

# argon2-cffi's defaults follow RFC 9106's low-memory profile; when a later release raises
# them, ``needs_rehash`` tells us at the next login and the stored hash is upgraded.
_hasher = PasswordHasher()
# A hash of a random password, verified when a login names an unknown account so that the
# answer takes as long as for a real account (no account discovery through timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


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


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification, for logins that name no account."""
    verify_password(_DUMMY_HASH, password)


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
