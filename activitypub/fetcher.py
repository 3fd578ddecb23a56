"""Fetching remote ActivityPub documents safely: signed, size-capped, policy-checked."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from .http_signatures import sign_request
from .normalize import Malformed, check_limits
from .origin import origin_of, same_origin
from .sigbase import SigningKey
from .urlpolicy import UrlPolicy, UrlRefused
from .vocab import ACCEPT_ACTIVITY, ACTOR_TYPES, as_list, id_of

__all__ = ["FetchError", "Fetcher", "NotAnActor", "SigningKey"]

_REDIRECTS = {301, 302, 303, 307, 308}
_JSON_TYPES = {"application/activity+json", "application/ld+json", "application/json"}


class FetchError(Exception):
    """A remote document could not be fetched or is not acceptable.

    ``status`` is the HTTP status when there was a response; ``gone`` is True for 404/410
    (the object was deleted or never existed); ``refused`` is True when the URL policy
    refused a hop.
    """

    def __init__(
        self, message: str, *, url: str, status: int | None = None, refused: bool = False
    ) -> None:
        """Create an error about ``url``."""
        super().__init__(message)
        self.url = url
        self.status = status
        self.gone = status in (404, 410)
        self.refused = refused


class NotAnActor(FetchError):
    """The document was fetched fine but is not a usable ActivityPub actor."""


class Fetcher:
    """GETs ActivityPub JSON documents from other servers.

    Each request is signed with ``signer`` (usually the local actor on whose behalf we fetch)
    or sent unsigned when there is none; a 401/403 is retried once signed by
    ``instance_signer``, which is how servers in Mastodon's authorized-fetch mode are read.
    Redirects are followed by hand so that every hop is policy-checked and freshly signed.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: UrlPolicy,
        *,
        signer: SigningKey | None,
        instance_signer: SigningKey | None,
        max_bytes: int = 1_000_000,
        max_redirects: int = 3,
        timeout: float = 10.0,
    ) -> None:
        """Configure the fetcher; ``client`` is shared and owned by the caller."""
        self.client = client
        self.policy = policy
        self.signer = signer
        self.instance_signer = instance_signer
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.timeout = timeout

    def _headers(self, url: str, key: SigningKey | None) -> dict[str, str]:
        headers = {"Accept": ACCEPT_ACTIVITY}
        if key is not None:
            headers.update(sign_request("GET", url, {}, None, key.key_id, key.private_key_pem))
        return headers

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError("response too large", url=url, status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        # aiter_bytes yields decoded bytes, so a gzip bomb is capped on its inflated size.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError("response too large", url=url, status=response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _fetch(self, url: str) -> dict[str, Any]:
        current = url
        key = self.signer
        escalated = False
        hops = 0
        while True:
            try:
                await self.policy.check(current)
            except UrlRefused as exc:
                raise FetchError(f"URL refused: {exc}", url=current, refused=True) from exc
            request = self.client.build_request(
                "GET", current, headers=self._headers(current, key), timeout=self.timeout
            )
            try:
                response = await self.client.send(request, stream=True, follow_redirects=False)
            except UrlRefused as exc:  # raised by a PolicyTransport below the client
                raise FetchError(f"URL refused: {exc}", url=current, refused=True) from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}", url=current) from exc
            try:
                status = response.status_code
                if status in _REDIRECTS and "location" in response.headers:
                    hops += 1
                    if hops > self.max_redirects:
                        raise FetchError("too many redirects", url=current, status=status)
                    current = str(response.url.join(response.headers["location"]))
                    continue
                if (
                    status in (401, 403)
                    and not escalated
                    and self.instance_signer is not None
                    and key != self.instance_signer
                ):
                    # Mastodon's authorized-fetch mode refuses unsigned (or, if it blocks the
                    # user's domain, user-signed) GETs; retry once as the instance actor.
                    escalated = True
                    key = self.instance_signer
                    continue
                if status != 200:
                    raise FetchError(f"HTTP {status}", url=current, status=status)
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if media not in _JSON_TYPES:
                    raise FetchError(
                        f"unexpected content type {media or 'none'!r}", url=current, status=status
                    )
                body = await self._read_capped(response, current)
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}", url=current) from exc
            finally:
                await response.aclose()
            return self._parse(body, current, status)

    def _parse(self, body: bytes, url: str, status: int) -> dict[str, Any]:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FetchError("invalid JSON", url=url, status=status) from exc
        if not isinstance(doc, dict):
            raise FetchError("JSON document is not an object", url=url, status=status)
        try:
            # What the inbox refuses at its door (too deep to store, a NUL character that
            # PostgreSQL refuses in text) is refused here too, for good, not stored and failed.
            check_limits(doc)
        except Malformed as exc:
            raise FetchError(str(exc), url=url, status=status) from None
        doc_id = doc.get("id")
        if not isinstance(doc_id, str):
            raise FetchError("document has no id", url=url, status=status)
        # The document may only speak for its own origin: after redirects, the final URL must
        # have the origin (scheme, host, port) of the id it claims, or anyone could serve
        # forged objects for others.
        if not same_origin(doc_id, url):
            raise FetchError(
                f"id {doc_id} does not belong to {origin_of(url) or url}", url=url, status=status
            )
        return doc

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """Fetch ``url`` and return its JSON object; raise ``FetchError`` on any problem.

        The whole exchange (all hops) is bounded by ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url)
        except TimeoutError as exc:
            raise FetchError("timed out", url=url) from exc

    async def fetch_actor(self, url: str) -> dict[str, Any]:
        """Fetch an actor and check it is usable: actor type, inbox, and its own public key."""
        doc = await self.fetch_json(url)
        validate_actor(doc, url)
        return doc


def validate_actor(doc: dict[str, Any], url: str) -> None:
    """Raise ``NotAnActor`` unless ``doc`` is an actor with an inbox and a key it owns."""
    types = {t for t in as_list(doc.get("type")) if isinstance(t, str)}
    if not types & ACTOR_TYPES:
        raise NotAnActor(f"type {doc.get('type')!r} is not an actor type", url=url)
    if not id_of(doc.get("inbox")):
        raise NotAnActor("actor has no inbox", url=url)
    keys = [k for k in as_list(doc.get("publicKey")) if isinstance(k, dict)]
    if not any(
        k.get("owner") == doc["id"] and isinstance(k.get("publicKeyPem"), str) for k in keys
    ):
        raise NotAnActor("actor has no public key owned by itself", url=url)
