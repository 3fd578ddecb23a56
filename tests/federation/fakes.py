"""Fake remote servers for inbox tests: actor documents shaped like Mastodon, Lemmy, Mobilizon.

A :class:`FakeServer` is a tiny ASGI app (registered on the routing transport under its host)
that serves the JSON documents put into ``docs`` by path, and answers 410 for paths listed in
``gone``. :class:`FakeActor` holds a real RSA key pair and signs requests the way its server
software does (which headers, which algorithm name, which key format).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography.hazmat.primitives import serialization

from activitypub.digest import digest_header
from activitypub.http_signatures import request_target, sign_request
from activitypub.keys import generate_rsa_keypair, load_private_key
from activitypub.sigbase import sign_raw, utcnow

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"


class FakeServer:
    """An ASGI app serving stored JSON documents for one host; records every request."""

    def __init__(self, host: str) -> None:
        """Create an empty server for ``host`` (e.g. ``mastodon.example``)."""
        self.host = host
        self.docs: dict[str, dict[str, Any]] = {}
        self.gone: set[str] = set()
        self.requests: list[tuple[str, str]] = []

    def url(self, path: str) -> str:
        """The absolute http URL of ``path`` on this server."""
        return f"http://{self.host}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer GETs from ``docs``; 410 for ``gone``; 404 otherwise; 202 for POSTs."""
        assert scope["type"] == "http"
        path = scope["path"]
        self.requests.append((scope["method"], path))
        if scope["method"] == "POST":
            status, body = 202, b""
        elif path in self.gone:
            status, body = 410, b'{"error":"gone"}'
        elif path in self.docs:
            status, body = 200, orjson.dumps(self.docs[path])
        else:
            status, body = 404, b'{"error":"not found"}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/activity+json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass
class FakeActor:
    """A remote actor with a real key pair, published on a :class:`FakeServer`."""

    server: FakeServer
    path: str
    flavour: str = "mastodon"  # mastodon | lemmy | mobilizon
    username: str = ""
    private_pem: str = field(default="", repr=False)
    public_pem: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.private_pem:
            self.private_pem, self.public_pem = generate_rsa_keypair()
        if not self.username:
            self.username = self.path.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
        self.publish()

    @property
    def id(self) -> str:
        """The actor id."""
        return self.server.url(self.path)

    @property
    def key_id(self) -> str:
        """The key id (``#main-key`` on the actor, as all three servers do)."""
        return self.id + "#main-key"

    def published_pem(self) -> str:
        """The public key as this server software publishes it."""
        if self.flavour == "mobilizon":
            # Mobilizon publishes PKCS#1 ("BEGIN RSA PUBLIC KEY").
            key = load_private_key(self.private_pem).public_key()
            return key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
            ).decode("ascii")
        return self.public_pem

    def document(self) -> dict[str, Any]:
        """The actor JSON, shaped like the flavour's real documents."""
        doc: dict[str, Any] = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.username,
            "name": self.username.title(),
            "summary": "<p>Hello <script>alert(1)</script>world</p>",
            "inbox": self.id + "/inbox",
            "outbox": self.id + "/outbox",
            "publicKey": {
                "id": self.key_id, "owner": self.id, "publicKeyPem": self.published_pem()
            },
            "endpoints": {"sharedInbox": self.server.url("/inbox")},
        }
        if self.flavour in ("mastodon", "mobilizon"):
            doc["followers"] = self.id + "/followers"
            doc["following"] = self.id + "/following"
            doc["manuallyApprovesFollowers"] = False
        if self.flavour == "mastodon":
            doc["url"] = self.server.url("/@" + self.username)
        return doc

    def publish(self) -> None:
        """(Re)publish the actor document on its server."""
        self.server.docs[self.path] = self.document()

    def activity(self, kind: str = "Follow", obj: Any = None, **extra: Any) -> dict[str, Any]:
        """A new activity by this actor with a fresh id on its host."""
        doc: dict[str, Any] = {
            "@context": AS,
            "id": self.server.url(f"/activities/{uuid.uuid4()}"),
            "type": kind,
            "actor": self.id,
        }
        if obj is not None:
            doc["object"] = obj
        doc.update(extra)
        return doc

    def signed_post(
        self, url: str, body: bytes, *, now: datetime | None = None, key_pem: str | None = None
    ) -> dict[str, str]:
        """Headers for POSTing ``body`` to ``url``, signed the way this flavour signs."""
        pem = key_pem or self.private_pem
        headers = {"Content-Type": "application/activity+json"}
        if self.flavour == "mastodon":
            headers.update(sign_request("POST", url, headers, body, self.key_id, pem, now=now))
            return headers
        # Lemmy (activitypub-federation-rust) and Mobilizon sign more headers and name the
        # algorithm differently; build their exact header sets.
        when = utcnow(now)
        headers["Date"] = format_datetime(when, usegmt=True)
        headers["Host"] = urlsplit(url).netloc
        headers["Digest"] = digest_header(body)
        if self.flavour == "lemmy":
            covered = ["(request-target)", "content-type", "date", "digest", "host"]
            algorithm = "hs2019"
        else:
            headers["Content-Length"] = str(len(body))
            covered = ["(request-target)", "content-length", "date", "digest", "host"]
            algorithm = "rsa-sha256"
        lowered = {k.lower(): v for k, v in headers.items()}
        lowered["(request-target)"] = request_target("POST", url)
        lines = [f"{name}: {lowered[name]}" for name in covered]
        signature = sign_raw(load_private_key(pem), "rsa-v1_5-sha256", "\n".join(lines).encode())
        headers["Signature"] = (
            f'keyId="{self.key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
            f'signature="{base64.b64encode(signature).decode()}"'
        )
        return headers
