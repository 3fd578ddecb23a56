"""A Mastodon-shaped account served over real HTTP on loopback, for live tests.

:class:`LoopbackMastodon` runs a :class:`tribe_fed_helpers.RecordingServer` (JSON documents by
path, every POSTed body recorded) under uvicorn in a background thread, on a socket bound
to a free port of 127.0.0.1 before the server starts (so there is no port race). It serves
what a real Mastodon server would for one account: WebFinger
(``/.well-known/webfinger?resource=acct:mia@127.0.0.1:PORT``), the ``Person`` with its
public key (``/users/mia``), statuses put into ``docs``, and an inbox that takes anything
(``/users/mia/inbox`` and the shared ``/inbox``). :meth:`LoopbackMastodon.post` signs an
activity with the account's key exactly as Mastodon does and POSTs it over real HTTP::

    with LoopbackMastodon("mia") as mia:
        mia.post(f"{tribe}/inbox", mia.actor.activity("Follow", tribe))
        mia.received("Accept")            # what the instances delivered to mia so far
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import uvicorn
from fakes import FakeActor
from tribe_fed_helpers import RecordingServer

__all__ = ["LoopbackMastodon"]


class _MastodonServer(RecordingServer):
    """A recording fake server that also answers WebFinger for its accounts."""

    def __init__(self, host: str) -> None:
        """Create the server for ``host`` (``127.0.0.1:PORT``)."""
        super().__init__(host)
        self.accounts: dict[str, FakeActor] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """WebFinger by ``resource``; everything else as :class:`RecordingServer`."""
        if scope["type"] == "lifespan":  # uvicorn may ask; nothing to set up
            return
        if scope["path"] != "/.well-known/webfinger":
            await super().__call__(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("ascii"))
        resource = (query.get("resource") or [""])[0]
        name = resource.removeprefix("acct:").split("@", 1)[0]
        account = self.accounts.get(name)
        if account is None or resource != f"acct:{name}@{self.host}":
            status, body = 404, b""
        else:
            status, body = 200, orjson.dumps({
                "subject": resource,
                "aliases": [account.id, self.url(f"/@{name}")],
                "links": [
                    {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                     "href": self.url(f"/@{name}")},
                    {"rel": "self", "type": "application/activity+json", "href": account.id},
                ],
            })
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/jrd+json; charset=utf-8")],
        })
        await send({"type": "http.response.body", "body": body})


class LoopbackMastodon:
    """One Mastodon-shaped account on a real loopback HTTP server (a context manager)."""

    def __init__(self, username: str) -> None:
        """Bind a free loopback port and prepare the account ``username`` (not started)."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.host = f"127.0.0.1:{self.port}"
        self.server = _MastodonServer(self.host)
        self.actor = FakeActor(self.server, f"/users/{username}", flavour="mastodon")
        self.server.accounts[username] = self.actor
        config = uvicorn.Config(
            self.server, log_level="warning", lifespan="off", loop="asyncio", http="h11",
            access_log=False,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"mastodon-{self.port}",
        )

    @property
    def handle(self) -> str:
        """``@name@127.0.0.1:PORT``, as the instances show the account."""
        return f"@{self.actor.username}@{self.host}"

    def __enter__(self) -> LoopbackMastodon:
        """Start serving; returns once uvicorn listens."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the loopback Mastodon server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving and close the socket."""
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def post(self, inbox: str, activity: dict[str, Any]) -> httpx.Response:
        """POST ``activity`` to ``inbox``, signed with the account's key as Mastodon signs."""
        body = orjson.dumps(activity)
        headers = self.actor.signed_post(inbox, body)
        with httpx.Client(timeout=10) as client:
            return client.post(inbox, content=body, headers=headers)

    def received(self, kind: str, inner: str | None = None) -> list[dict[str, Any]]:
        """Activities of ``kind`` POSTed to this server (optionally wrapping ``inner``)."""
        return self.server.received(kind, inner)

    def boosts(self) -> list[dict[str, Any]]:
        """Announces of a bare object id (what Mastodon shows as a boost)."""
        return self.server.boosts()
