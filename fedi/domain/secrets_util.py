"""Random secrets for links and tokens, and the hashed form in which they are stored."""

from __future__ import annotations

import hashlib
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe secret."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(value: str) -> str:
    """The stored form of a secret (SHA-256 hex); a database leak then hands out nothing."""
    return hashlib.sha256(value.encode()).hexdigest()
