"""A remote server with one actor and its key, and signed POSTs into an app's inbox.

The server is an httpx transport given to ``create_app(..., http_transport=...)``, so the
inbox's key fetch is a real request answered by it; POSTs go into the app over ASGI.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from activitypub.http_signatures import sign_request
from activitypub.keys import generate_rsa_keypair
from fedi.state import FediApp

AS = "https://www.w3.org/ns/activitystreams"


class RemoteServer(httpx.AsyncBaseTransport):
    """A remote server publishing the actor ``zed`` (the key the inbox fetches)."""

    def __init__(self, host: str) -> None:
        self.private_pem, public_pem = generate_rsa_keypair()
        self.actor_id = f"http://{host}/users/zed"
        self.key_id = self.actor_id + "#main-key"
        self.doc = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.actor_id, "type": "Person", "preferredUsername": "zed",
            "inbox": self.actor_id + "/inbox",
            "publicKey": {"id": self.key_id, "owner": self.actor_id, "publicKeyPem": public_pem},
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve the actor document; everything else is 404."""
        if str(request.url).split("#")[0] == self.actor_id:
            return httpx.Response(200, content=orjson.dumps(self.doc),
                                  headers={"Content-Type": "application/activity+json"})
        return httpx.Response(404)

    def like(self, number: int, target: str, **changes: Any) -> dict[str, Any]:
        """A ``Like`` by ``zed`` with a fresh id on this server (fields replaced by ``changes``)."""
        activity = {
            "@context": AS, "id": f"{self.actor_id.rsplit('/users/', 1)[0]}/likes/{number}",
            "type": "Like", "actor": self.actor_id, "object": target,
        }
        activity.update(changes)
        return activity


async def post_signed(
    app: FediApp, remote: RemoteServer, activity: dict[str, Any], *,
    signed_for: str | None = None, host_header: str | None = None,
) -> httpx.Response:
    """POST ``activity`` to the app's shared inbox, signed by ``remote``'s actor.

    ``signed_for`` is the inbox URL the signature is made for (default: the app's own);
    ``host_header`` is the Host the request arrives with (default: the signed one).
    """
    base = app.state.settings.base_url
    body = orjson.dumps(activity)
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign_request("POST", signed_for or f"{base}/inbox", headers, body,
                                remote.key_id, remote.private_pem))
    if host_header is not None:
        headers["Host"] = host_header
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as http:
        return await http.post("/inbox", content=body, headers=headers)
