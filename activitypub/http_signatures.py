"""draft-cavage HTTP Signatures as Mastodon uses them, plus the verify entry point.

``verify_request`` dispatches: a request carrying ``Signature-Input`` is an RFC 9421 message
signature (Mastodon 4.5+), anything else is checked as draft-cavage.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Generator, Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime as http_date
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from . import rfc9421
from .digest import digest_header, verify_digest
from .keys import PublicKey, load_private_key
from .sigbase import (
    DEFAULT_MAX_SKEW,
    BadSignature,
    DigestMismatch,
    InsufficientCoverage,
    KeyResolver,
    KeyUnavailable,
    MalformedSignature,
    MissingSignature,
    PublicKeyInfo,
    SignatureError,
    StaleSignature,
    UnsupportedAlgorithm,
    VerifiedSignature,
    VerifyAlg,
    b64decode_strict,
    check_window,
    default_alg,
    lower_headers,
    sign_raw,
    utcnow,
    verify_raw,
    verify_with_rotation,
)
from .sigparams import parse_signature_header
from .vocab import host_of

__all__ = [
    "BadSignature",
    "DigestMismatch",
    "HttpSignatureAuth",
    "InsufficientCoverage",
    "KeyResolver",
    "KeyUnavailable",
    "MalformedSignature",
    "MissingSignature",
    "PublicKeyInfo",
    "SignatureError",
    "StaleSignature",
    "UnsupportedAlgorithm",
    "VerifiedSignature",
    "parse_signature_header",
    "request_target",
    "sign_request",
    "verify_request",
]


def request_target(method: str, url: str) -> str:
    """Return the ``(request-target)`` value: ``post /path?query`` (method lowercased)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return f"{method.lower()} {path}"


def _http_date(now: datetime) -> str:
    # RFC 7231 IMF-fixdate, e.g. "Sun, 29 Nov 2026 20:30:00 GMT".
    return http_date(now, usegmt=True)


def sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request the way Mastodon does and return the headers to add.

    Returns ``Date``, ``Host``, ``Digest`` (when there is a body) and ``Signature`` covering
    ``(request-target) host date digest`` (POST) or ``(request-target) host date`` (GET).
    Values already present in ``headers`` for Date/Host are reused so the signature matches
    what is actually sent.
    """
    existing = lower_headers(headers)
    when = utcnow(now)
    out: dict[str, str] = {
        "Date": existing.get("date") or _http_date(when),
        "Host": existing.get("host") or host_of(url),
    }
    covered = ["(request-target)", "host", "date"]
    values = {
        "(request-target)": request_target(method, url),
        "host": out["Host"],
        "date": out["Date"],
    }
    if body is not None:
        out["Digest"] = digest_header(body)
        covered.append("digest")
        values["digest"] = out["Digest"]
    key = load_private_key(private_key_pem)
    alg = default_alg(key)
    signing_string = "\n".join(f"{h}: {values[h]}" for h in covered)
    signature = sign_raw(key, alg, signing_string.encode("utf-8"))
    # Mastodon labels RSA signatures "rsa-sha256"; an Ed25519 key can only be named hs2019.
    algorithm = "rsa-sha256" if alg == "rsa-v1_5-sha256" else "hs2019"
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return out


class HttpSignatureAuth(httpx.Auth):
    """httpx authentication that signs every request it is applied to (draft-cavage).

    httpx runs an auth flow once per ``send``; when the client itself follows redirects the
    signed headers of the first hop would be replayed on the next one, where ``(request-target)``
    no longer matches. Therefore this flow follows redirects itself when the client does not:
    each 3xx hop it sees is re-signed for its new URL (at most ``max_redirects`` hops). Use it
    with ``follow_redirects=False``; the :class:`~activitypub.fetcher.Fetcher` does its own
    redirect handling and simply signs each hop.
    """

    requires_request_body = True

    def __init__(self, key_id: str, private_key_pem: str, *, max_redirects: int = 0) -> None:
        """Create an auth signing with ``key_id``; optionally follow up to N redirects."""
        self.key_id = key_id
        self.private_key_pem = private_key_pem
        self.max_redirects = max_redirects

    def sign(self, request: httpx.Request) -> None:
        """Add signature headers to ``request`` in place."""
        body = request.content if request.method not in ("GET", "HEAD") else None
        for name, value in sign_request(
            request.method, str(request.url), {}, body, self.key_id, self.private_key_pem
        ).items():
            request.headers[name] = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request, and re-sign each redirect hop we are allowed to follow."""
        self.sign(request)
        response = yield request
        hops = 0
        while response.is_redirect and hops < self.max_redirects and request.method == "GET":
            hops += 1
            location = response.headers["location"]
            request = httpx.Request(
                "GET",
                request.url.join(location),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
            self.sign(request)
            response = yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Async variant of :meth:`auth_flow` (signing needs no I/O)."""
        flow = self.auth_flow(request)
        req = next(flow)
        while True:
            response = yield req
            try:
                req = flow.send(response)
            except StopIteration:
                return


_CAVAGE_ALGORITHMS = {None, "rsa-sha256", "hs2019"}


def _parse_created(params: dict[str, str], name: str) -> int:
    raw = params.get(name)
    if raw is None or not raw.strip().lstrip("-").isdigit():
        raise MalformedSignature(f"({name}) is signed but the {name} parameter is not an integer")
    return int(raw)


async def _verify_cavage(
    method: str,
    target_uri: str,
    headers: dict[str, str],
    body: bytes | None,
    key_resolver: KeyResolver,
    now: datetime,
    max_skew: timedelta,
) -> VerifiedSignature:
    raw = headers.get("signature")
    if raw is None:
        auth = headers.get("authorization", "")
        if auth[:10].lower() == "signature ":
            raw = auth
    if not raw:
        raise MissingSignature("request is not signed (no Signature header)")
    params = parse_signature_header(raw)
    key_id = params.get("keyId")
    signature_b64 = params.get("signature")
    if not key_id or not signature_b64:
        raise MalformedSignature("signature header lacks keyId or signature")
    algorithm = params.get("algorithm")
    algorithm = algorithm.lower() if algorithm else None
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise UnsupportedAlgorithm(f"unsupported signature algorithm {algorithm!r}")
    # The draft's default covered list is just "date"; it will fail the coverage rules below.
    covered = (params.get("headers") or "date").lower().split()

    has_time = "date" in covered or "(created)" in covered
    missing = [h for h in ("(request-target)", "host") if h not in covered]
    if not has_time:
        missing.append("date")
    is_write = method.upper() not in ("GET", "HEAD")
    if is_write and "digest" not in covered:
        missing.append("digest")
    if missing:
        raise InsufficientCoverage(f"signature must cover {', '.join(missing)}")

    values: list[str] = []
    for name in covered:
        if name == "(request-target)":
            value = request_target(method, target_uri)
        elif name == "host":
            # Our own host (from ``target_uri``, which the caller builds from the configured
            # base URL), never the request's Host header: a request signed for another server
            # and replayed here with that server's Host must not verify.
            value = host_of(target_uri)
        elif name in ("(created)", "(expires)"):
            # The draft forbids these pseudo-headers with explicit rsa/hmac/ecdsa algorithms;
            # Mastodon enforces that, so do we.
            if algorithm not in (None, "hs2019"):
                raise MalformedSignature(f"{name} is only valid with hs2019")
            value = str(_parse_created(params, name.strip("()")))
        else:
            if name not in headers:
                raise MalformedSignature(f"signed header {name!r} is missing from the request")
            value = headers[name].strip()
        values.append(f"{name}: {value}")

    if "date" in covered:
        try:
            sent = parsedate_to_datetime(headers["date"])
        except (TypeError, ValueError) as exc:
            raise MalformedSignature("unparseable Date header") from exc
        check_window(utcnow(sent), now, max_skew, "Date")
    if "(created)" in covered:
        created = datetime.fromtimestamp(_parse_created(params, "created"), now.tzinfo)
        check_window(created, now, max_skew, "created")
    if "(expires)" in covered:
        expires = datetime.fromtimestamp(_parse_created(params, "expires"), now.tzinfo)
        if expires < now:
            raise StaleSignature("signature has expired")

    if "digest" in covered:
        if not verify_digest(headers["digest"], body or b""):
            raise DigestMismatch("Digest header does not match the body")

    signature = b64decode_strict(signature_b64)
    message = "\n".join(values).encode("utf-8")

    def check(key: PublicKey) -> bool:
        alg: VerifyAlg = default_alg(key)
        if algorithm == "rsa-sha256" and alg != "rsa-v1_5-sha256":
            return False
        if verify_raw(key, alg, message, signature):
            return True
        # hs2019 strictly means RSASSA-PSS/SHA-512 for RSA keys; the Fediverse uses PKCS#1
        # v1.5 SHA-256 (tried first), but accept the spec reading too.
        return (
            algorithm == "hs2019"
            and alg == "rsa-v1_5-sha256"
            and verify_raw(key, "rsa-pss-sha512", message, signature)
        )

    info = await verify_with_rotation(key_id, key_resolver, check)
    return VerifiedSignature(key_id=info.key_id, owner=info.owner, scheme="cavage")


async def verify_request(
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_resolver: KeyResolver,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> VerifiedSignature:
    """Verify an incoming request's HTTP signature and return who signed it.

    ``target_uri`` is the full URL the client addressed (scheme, host, path and query; the
    caller reconstructs it from its own base URL, honouring proxies); its host is what a
    covered ``host`` (cavage) or ``@authority`` (RFC 9421) must say. Header lookup is
    case-insensitive. Requests with ``Signature-Input`` are verified as RFC 9421, others as
    draft-cavage. Raises a :class:`SignatureError` subclass describing the failure.
    """
    lowered = lower_headers(headers)
    current = utcnow(now)
    if "signature-input" in lowered:
        return await rfc9421.verify_request_rfc9421(
            method, target_uri, lowered, body, key_resolver, now=current, max_skew=max_skew
        )
    return await _verify_cavage(method, target_uri, lowered, body, key_resolver, current, max_skew)
