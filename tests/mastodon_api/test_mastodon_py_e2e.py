"""End to end with the ``Mastodon.py`` library against two real ``fedi serve`` processes
(issue 14): post with media, page the home timeline forwards and back, reply and read the
context, favourite, boost, bookmark, delete; search a handle on the other instance; and a
mention from there arrives over the streaming API.

Alice logs in the way an app does (Mastodon.py registers, she consents on the real
consent page, the library exchanges the code); the others use ``fedi token create``
tokens, which the API accepts too. The library is used through its public methods only. The first
instance runs its workers inside the server (``FEDI_RUN_WORKERS=inline``) so that what its
inbox worker stores reaches that server's live hub on SQLite, where no cross-process
bridge exists.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
from typing import Any

import httpx
import pytest

from tests.live_helpers import person_with_token, wait_for
from tests.mastodon_api.mastodon_py_helpers import oauth_login
from tests.mastodon_api.status_helpers import PNG, status_problems

mastodon = pytest.importorskip("mastodon")

pytestmark = pytest.mark.live



class Listener(mastodon.StreamListener):  # type: ignore[misc,name-defined]
    """Keeps what the stream sends."""

    def __init__(self) -> None:
        """Start with nothing received."""
        super().__init__()
        self.updates: list[Any] = []
        self.notifications: list[Any] = []
        self.lock = threading.Lock()

    def on_update(self, status: Any) -> None:
        """A new status on the home timeline."""
        with self.lock:
            self.updates.append(status)

    def on_notification(self, notification: Any) -> None:
        """A new notification."""
        with self.lock:
            self.notifications.append(notification)


def _websocket(server: Any, path: str) -> socket.socket:
    """A WebSocket to ``server`` (RFC 6455 handshake on a plain socket), after its 101."""
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall((
        f"GET {path} HTTP/1.1\r\nHost: {server.host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return conn


def _frame(conn: socket.socket) -> str:
    """The next text frame the server sends (servers never mask; pings are skipped)."""
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            assert chunk, "the server closed the WebSocket"
            data += chunk
        return data

    while True:
        first, second = exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", exactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", exactly(8))[0]
        payload = exactly(length)
        if first & 0x0F == 0x1:
            return payload.decode()


def _api(server: Any, token: str) -> Any:
    return mastodon.Mastodon(
        access_token=token, api_base_url=server.base_url, version_check_mode="none",
        request_timeout=30,
    )


def _ids(statuses: Any) -> list[str]:
    return [str(s["id"]) for s in statuses]


def test_mastodon_py_end_to_end(live_server_factory: Any) -> None:
    """The journey of the module notes, with raw JSON checks on what the library hides."""
    one = live_server_factory(FEDI_RUN_WORKERS="inline")
    two = live_server_factory()
    person_with_token(one, "alice")
    carol_token = person_with_token(one, "carol")
    bob_token = person_with_token(two, "bob")
    alice = oauth_login(one, "alice")
    alice_token = alice.access_token
    carol, bob = _api(one, carol_token), _api(two, bob_token)

    # Post with media.
    media = alice.media_post(PNG, mime_type="image/png", description="Het plein",
                             file_name="plein.png")
    first = alice.status_post("Het plein vandaag", media_ids=[media])
    assert first["media_attachments"][0]["description"] == "Het plein"
    with httpx.Client(timeout=30) as raw:
        shown = raw.get(
            f"{one.base_url}/api/v1/statuses/{first['id']}",
            headers={"Authorization": f"Bearer {alice_token}"},
        ).json()
        assert status_problems(shown) == []
        assert raw.get(shown["media_attachments"][0]["url"]).status_code == 200

    # Page the home timeline back and forth.
    posted = [str(first["id"])] + [
        str(alice.status_post(f"Bericht {n}")["id"]) for n in range(4)
    ]
    newest = list(reversed(posted))
    page = alice.timeline_home(limit=2)
    assert _ids(page) == newest[:2]
    older = alice.fetch_next(page)
    assert _ids(older) == newest[2:4]
    oldest = alice.fetch_next(older)
    assert _ids(oldest) == newest[4:]
    back = alice.fetch_previous(oldest)
    assert _ids(back) == newest[2:4]

    # Reply and read the context.
    reply = carol.status_reply(first, "Mooie foto!")
    context = alice.status_context(first)
    assert _ids(context["descendants"]) == [str(reply["id"])]
    assert _ids(carol.status_context(reply)["ancestors"]) == [str(first["id"])]

    # Favourite, boost, bookmark.
    assert carol.status_favourite(first)["favourited"] is True
    boost = carol.status_reblog(first)
    assert str(boost["reblog"]["id"]) == str(first["id"])
    assert carol.status_bookmark(first)["bookmarked"] is True
    assert _ids(carol.bookmarks()) == [str(first["id"])]
    again = alice.status(first)
    assert again["favourites_count"] == 1 and again["reblogs_count"] == 1
    assert again["replies_count"] == 1
    assert carol.status_unbookmark(first)["bookmarked"] is False
    types = {n["type"] for n in alice.notifications()}
    assert {"favourite", "reblog", "mention"} <= types

    # Delete.
    deleted = alice.status_delete(posted[-1])
    assert deleted["text"] == "Bericht 3"
    with pytest.raises(mastodon.MastodonNotFoundError):
        alice.status(posted[-1])

    # The WebSocket of the streaming API on the real server: alice's own new post.
    conn = _websocket(one, f"/api/v1/streaming?stream=user&access_token={alice_token}")
    try:
        time.sleep(0.5)
        fresh = alice.status_post("Via de WebSocket")
        message = json.loads(_frame(conn))
        assert message["event"] == "update" and message["stream"] == ["user"]
        assert json.loads(message["payload"])["id"] == str(fresh["id"])
    finally:
        conn.close()

    # Search alice's handle from the other instance (resolved over WebFinger).
    found = bob.search_v2(f"@alice@{one.host}", resolve=True)
    assert [a["acct"] for a in found["accounts"]] == [f"alice@{one.host}"]

    # A mention from the other instance arrives over the streaming API.
    listener = Listener()
    handle = alice.stream_user(listener, run_async=True, reconnect_async=False)
    try:
        wait_for(lambda: handle.is_alive(), "the stream to start", [one, two], timeout=10)
        mention = bob.status_post(f"@alice@{one.host} zullen we samen?")
        notification = wait_for(
            lambda: next((n for n in listener.notifications if n["type"] == "mention"), None),
            "the mention to arrive over the stream", [one, two], timeout=60,
        )
        assert notification["status"]["uri"] == mention["uri"]
        assert notification["account"]["acct"] == f"bob@{two.host}"
    finally:
        handle.close()
