"""A push service on loopback and a browser's push keys, for the Web Push tests.

``PushService`` is a real HTTP server on 127.0.0.1 standing in for a browser vendor's push
service (it records each POST and answers with a chosen status); ``Browser`` holds the keys
a browser makes for a subscription and decrypts what arrives, as the browser would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    """base64url without padding, as browsers write keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of a base64url text without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushService:
    """A push service on loopback: records each POST and answers with ``status``."""

    port: int
    status: int = 201
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def endpoint(self, name: str) -> str:
        """A subscription endpoint on this service."""
        return f"http://127.0.0.1:{self.port}/push/{name}"


def running_push_service() -> Iterator[PushService]:
    """A real HTTP server on 127.0.0.1 standing in for a browser vendor's push service."""
    service = PushService(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            service.received.append((self.path, dict(self.headers.items()), body))
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Browser:
    """The keys a browser keeps for one push subscription."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """Decrypt an ``aes128gcm`` push body as the browser does (RFC 8291)."""
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        data: dict[str, Any] = json.loads(plain)
        return data


def verify_vapid(header: str, public_key: str, audience: str) -> dict[str, Any]:
    """Check ``vapid t=<JWT>,k=<key>``: the key is the published one, the ES256 signature
    over the JWT holds, and the claims name the push service; return the claims."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    assert fields["k"] == public_key
    head_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(head_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    assert len(signature) == 64  # JOSE: r and s, 32 bytes each
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # and it is not a signature of anything else
        key.verify(der, f"{head_b64}.{claims_b64}x".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert claims["exp"] > time.time() + 3600
    assert claims["sub"].startswith(("mailto:", "https://"))
    return claims


async def run_push_worker_until(app: Any, done: Any, what: str, within: float = 30.0) -> None:
    """Step the push worker (as its loop would) until ``done()`` is true, at most ``within``
    seconds (then fail naming ``what``)."""
    from fedi.workers.push import PushWorker

    worker = PushWorker(app.state)
    deadline = time.monotonic() + within
    while not done():
        await worker.run_once()
        if done():
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
