"""Types, errors and primitives shared by both HTTP signature schemes (cavage and RFC 9421)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .keys import InvalidKey, PrivateKey, PublicKey, load_public_key

DEFAULT_MAX_SKEW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """A remote public key and the actor that owns it, as resolved from its key id."""

    key_id: str
    owner: str
    public_key_pem: str


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """The outcome of a successful verification: which key signed, and whose it is."""

    key_id: str
    owner: str
    scheme: Literal["cavage", "rfc9421"]


KeyResolver = Callable[[str, bool], Awaitable[PublicKeyInfo | None]]
"""Called with ``(key_id, refresh)``; returns the key, or None when it cannot be found."""


class SignatureError(Exception):
    """Base class: the request's signature is missing or does not verify (answer 401)."""

    status = 401


class MissingSignature(SignatureError):
    """The request carries no signature header at all."""


class MalformedSignature(SignatureError):
    """The signature header (or a header it covers) cannot be parsed."""


class UnsupportedAlgorithm(SignatureError):
    """The signature names an algorithm we do not implement."""


class StaleSignature(SignatureError):
    """Date/created/expires lie outside the accepted time window (too old or in the future)."""


class DigestMismatch(SignatureError):
    """The body does not match its Digest / Content-Digest header."""


class InsufficientCoverage(SignatureError):
    """The signature does not cover the headers/components we require."""


class KeyUnavailable(SignatureError):
    """The key id could not be resolved to a public key."""


class BadSignature(SignatureError):
    """The cryptographic check failed (wrong key, tampered request)."""


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` into a dict with lowercased names for case-insensitive lookup.

    Works with plain dicts as well as httpx/Starlette header objects.
    """
    return {k.lower(): v for k, v in headers.items()}


def b64decode_strict(value: str) -> bytes:
    """Decode standard base64, raising ``MalformedSignature`` on garbage."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedSignature("signature is not valid base64") from exc


def check_window(when: datetime, now: datetime, max_skew: timedelta, what: str) -> None:
    """Refuse a signing time more than ``max_skew`` in the past or in the future."""
    if when > now + max_skew:
        raise StaleSignature(f"{what} is in the future ({when.isoformat()})")
    if when < now - max_skew:
        raise StaleSignature(f"{what} is too old ({when.isoformat()})")


def utcnow(now: datetime | None) -> datetime:
    """Return ``now`` as an aware UTC datetime, defaulting to the current time."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def public_key_from_pem(pem: str) -> PublicKey:
    """Load a public key, turning parse errors into ``KeyUnavailable``."""
    try:
        return load_public_key(pem)
    except InvalidKey as exc:
        raise KeyUnavailable(str(exc)) from exc


VerifyAlg = Literal["rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"]


def verify_raw(key: PublicKey, alg: VerifyAlg, message: bytes, signature: bytes) -> bool:
    """Verify ``signature`` over ``message`` with ``key`` using ``alg``; False on mismatch."""
    try:
        if alg == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return False
            key.verify(signature, message)
            return True
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        if alg == "rsa-v1_5-sha256":
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(
                signature,
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
                hashes.SHA512(),
            )
        return True
    except InvalidSignature:
        return False


def sign_raw(key: PrivateKey, alg: VerifyAlg, message: bytes) -> bytes:
    """Sign ``message`` with ``key`` using ``alg`` (the key type must match)."""
    if alg == "ed25519":
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("ed25519 signing needs an Ed25519 key")
        return key.sign(message)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{alg} signing needs an RSA key")
    if alg == "rsa-v1_5-sha256":
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
        hashes.SHA512(),
    )


def default_alg(key: PublicKey | PrivateKey) -> VerifyAlg:
    """Return the algorithm a key type implies (what hs2019 means in practice on the Fediverse)."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    return "rsa-v1_5-sha256"


async def verify_with_rotation(
    key_id: str,
    key_resolver: KeyResolver,
    check: Callable[[PublicKey], bool],
) -> PublicKeyInfo:
    """Resolve ``key_id`` and run ``check``; on failure refetch the key once and retry.

    The refetch handles key rotation: our cache (or the app's store) may hold an old key while
    the remote server already signs with a new one. Only one refresh, so a forged signature
    costs at most one extra fetch.
    """
    info = await key_resolver(key_id, False)
    if info is None:
        raise KeyUnavailable(f"could not resolve key {key_id}")
    if check(public_key_from_pem(info.public_key_pem)):
        return info
    fresh = await key_resolver(key_id, True)
    if fresh is not None and fresh.public_key_pem != info.public_key_pem:
        if check(public_key_from_pem(fresh.public_key_pem)):
            return fresh
    raise BadSignature(f"signature does not verify with key {key_id}")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of our private keys and the key id remote servers resolve it by."""

    key_id: str
    private_key_pem: str = field(repr=False)
