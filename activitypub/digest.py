"""Body digests: the legacy ``Digest`` header (RFC 3230) and ``Content-Digest`` (RFC 9530)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

# Legacy Digest algorithm names, lowercased. Mastodon sends "SHA-256", some servers
# (e.g. older Pleroma, several Go libraries) send "sha-256"; compare case-insensitively.
_LEGACY = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_STRUCTURED = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def digest_header(body: bytes) -> str:
    """Return the ``Digest`` header value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def verify_digest(header_value: str, body: bytes) -> bool:
    """Check a ``Digest`` header against ``body``.

    Several comma-separated digests are allowed; unknown algorithms are ignored. At least one
    known algorithm must be present and every known one must match.
    """
    seen = False
    for part in header_value.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        algo = _LEGACY.get(name.strip().lower())
        if algo is None:
            continue
        seen = True
        try:
            claimed = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        if not hmac.compare_digest(claimed, algo(body).digest()):
            return False
    return seen


def content_digest_header(body: bytes) -> str:
    """Return the RFC 9530 ``Content-Digest`` value for ``body``: ``sha-256=:<base64>:``."""
    return "sha-256=:" + _b64(hashlib.sha256(body).digest()) + ":"


def verify_content_digest(header_value: str, body: bytes) -> bool:
    """Check an RFC 9530 ``Content-Digest`` (structured dictionary of byte sequences).

    sha-256 and sha-512 are understood; others are ignored. At least one known digest must be
    present and all known digests must match.
    """
    seen = False
    for part in header_value.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        algo = _STRUCTURED.get(name.strip().lower())
        if algo is None:
            continue
        value = value.strip()
        if len(value) < 2 or not (value.startswith(":") and value.endswith(":")):
            return False
        seen = True
        try:
            claimed = base64.b64decode(value[1:-1], validate=True)
        except (binascii.Error, ValueError):
            return False
        if not hmac.compare_digest(claimed, algo(body).digest()):
            return False
    return seen
