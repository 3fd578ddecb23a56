"""RFC 9421 HTTP Message Signatures, as Mastodon 4.5 sends and verifies them.

Mastodon signs ``("@method" "@target-uri" "content-digest")`` with ``created`` and ``keyid``
parameters, using RSA PKCS#1 v1.5 with SHA-256. We verify that, plus RSA-PSS-SHA512 and
Ed25519, and can produce the same shape for tests and future outgoing use.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from .digest import content_digest_header, verify_content_digest
from .keys import PublicKey, load_private_key
from .sigbase import (
    DEFAULT_MAX_SKEW,
    DigestMismatch,
    InsufficientCoverage,
    KeyResolver,
    MalformedSignature,
    MissingSignature,
    StaleSignature,
    UnsupportedAlgorithm,
    VerifiedSignature,
    VerifyAlg,
    check_window,
    default_alg,
    lower_headers,
    sign_raw,
    utcnow,
    verify_raw,
    verify_with_rotation,
)
from .structured_fields import (
    InnerList,
    Item,
    StructuredFieldError,
    parse_dictionary,
    serialize_inner_list,
)
from .vocab import host_of

__all__ = ["sign_request_rfc9421", "signature_base", "verify_request_rfc9421"]

_ALGS: dict[str, VerifyAlg] = {
    "rsa-v1_5-sha256": "rsa-v1_5-sha256",
    "rsa-pss-sha512": "rsa-pss-sha512",
    "ed25519": "ed25519",
}


def _component_value(name: str, method: str, target_uri: str, headers: dict[str, str]) -> str:
    parts = urlsplit(target_uri)
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return target_uri
    if name == "@authority":
        return host_of(target_uri)
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return "?" + parts.query
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if name.startswith("@"):
        raise UnsupportedAlgorithm(f"unsupported derived component {name!r}")
    if name not in headers:
        raise MalformedSignature(f"signed header {name!r} is missing from the request")
    return headers[name].strip()


def signature_base(
    method: str,
    target_uri: str,
    headers: dict[str, str],
    components: InnerList,
) -> str:
    """Build the RFC 9421 signature base for ``components`` (headers must be lowercased)."""
    lines: list[str] = []
    for item in components.items:
        if not isinstance(item.value, str) or isinstance(item.value, bool):
            raise MalformedSignature("component identifiers must be strings")
        if item.params:
            # ;sf, ;key, ;bs, ;req, ;name are legal but nobody on the Fediverse sends them.
            raise UnsupportedAlgorithm(f"component parameters on {item.value!r} not supported")
        name = item.value.lower()
        value = _component_value(name, method, target_uri, headers)
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {serialize_inner_list(components)}')
    return "\n".join(lines)


def _names(components: InnerList) -> set[str]:
    return {str(i.value).lower() for i in components.items}


async def verify_request_rfc9421(
    method: str,
    target_uri: str,
    headers: dict[str, str],
    body: bytes | None,
    key_resolver: KeyResolver,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> VerifiedSignature:
    """Verify an RFC 9421 signature (``Signature-Input`` + ``Signature`` headers).

    Requires ``@method`` and ``@target-uri`` (``content-digest`` too when there is a body),
    a ``created`` within ``max_skew`` of now, an unexpired ``expires`` if present, and a
    matching ``Content-Digest``. The first label present in both headers is verified.
    """
    lowered = lower_headers(headers)
    current = utcnow(now)
    if "signature-input" not in lowered or "signature" not in lowered:
        raise MissingSignature("request lacks Signature-Input or Signature")
    try:
        inputs = parse_dictionary(lowered["signature-input"])
        signatures = parse_dictionary(lowered["signature"])
    except StructuredFieldError as exc:
        raise MalformedSignature(f"malformed RFC 9421 signature headers: {exc}") from exc
    label = next((k for k in inputs if k in signatures), None)
    if label is None:
        raise MalformedSignature("no signature label appears in both Signature-Input and Signature")
    components = inputs[label]
    sig_item = signatures[label]
    if not isinstance(components, InnerList):
        raise MalformedSignature("Signature-Input member must be an inner list")
    if not isinstance(sig_item, Item) or not isinstance(sig_item.value, bytes):
        raise MalformedSignature("Signature member must be a byte sequence")

    params = components.params
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise MalformedSignature("signature parameters lack keyid")
    alg_name = params.get("alg")
    if alg_name is not None and (not isinstance(alg_name, str) or alg_name not in _ALGS):
        raise UnsupportedAlgorithm(f"unsupported signature algorithm {alg_name!r}")

    names = _names(components)
    required = ["@method", "@target-uri"]
    has_body = bool(body) or method.upper() not in ("GET", "HEAD")
    if has_body:
        required.append("content-digest")
    missing = [n for n in required if n not in names]
    if missing:
        raise InsufficientCoverage(f"signature must cover {', '.join(missing)}")

    created = params.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise MalformedSignature("signature parameters lack an integer created")
    check_window(datetime.fromtimestamp(created, current.tzinfo), current, max_skew, "created")
    expires = params.get("expires")
    if expires is not None:
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise MalformedSignature("expires must be an integer")
        if datetime.fromtimestamp(expires, current.tzinfo) < current:
            raise StaleSignature("signature has expired")

    if "content-digest" in names:
        if "content-digest" not in lowered:
            raise MalformedSignature("Content-Digest is signed but missing")
        if not verify_content_digest(lowered["content-digest"], body or b""):
            raise DigestMismatch("Content-Digest does not match the body")

    message = signature_base(method, target_uri, lowered, components).encode("utf-8")
    signature = sig_item.value
    wanted = _ALGS[alg_name] if isinstance(alg_name, str) else None

    def check(key: PublicKey) -> bool:
        alg = wanted or default_alg(key)
        return verify_raw(key, alg, message, signature)

    info = await verify_with_rotation(key_id, key_resolver, check)
    return VerifiedSignature(key_id=info.key_id, owner=info.owner, scheme="rfc9421")


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
    *,
    label: str = "sig1",
    expires_in: timedelta | None = None,
) -> dict[str, str]:
    """Sign a request in Mastodon 4.5's RFC 9421 shape and return the headers to add.

    Returns ``Content-Digest`` (when there is a body), ``Signature-Input`` and ``Signature``.
    The algorithm follows the key type (rsa-v1_5-sha256 for RSA, ed25519 for Ed25519).
    """
    current = utcnow(now)
    out: dict[str, str] = {}
    lowered = lower_headers(headers)
    component_names = ["@method", "@target-uri"]
    if body is not None:
        out["Content-Digest"] = content_digest_header(body)
        lowered["content-digest"] = out["Content-Digest"]
        component_names.append("content-digest")
    key = load_private_key(private_key_pem)
    alg = default_alg(key)
    created = int(current.timestamp())
    params: dict[str, int | str | bytes | bool] = {"created": created}
    if expires_in is not None:
        params["expires"] = created + int(expires_in.total_seconds())
    params["keyid"] = key_id
    params["alg"] = alg
    components = InnerList([Item(n) for n in component_names], params)
    message = signature_base(method, url, lowered, components).encode("utf-8")
    signature = sign_raw(key, alg, message)
    out["Signature-Input"] = f"{label}={serialize_inner_list(components)}"
    out["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return out
