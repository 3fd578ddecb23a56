"""Loopback "remote servers" for the inbox benchmarks: actor documents, keys and notes.

``python -m bench.remotes --count 100 --slow 1 --delay 2.0 --keys FILE`` listens on
``count`` free loopback ports, one remote server (domain ``127.0.0.1:PORT``) each, all in one
asyncio process; the last ``slow`` of them wait ``delay`` seconds before every answer (a
server that stalls). It prints ``{"ports": [...], "slow": [...], "control": PORT}`` on stdout
and serves until killed. FILE is a JSON list of public key PEMs.

Every server answers, for any name:

* ``GET /users/<name>``: a Mastodon-shaped ``Person`` with its ``publicKey`` (the key
  ``#main-key``); the name ends in ``-k<N>``, and the key is the N-th PEM of FILE, so the
  benchmark (which holds the private keys) can sign as anybody here;
* ``GET /notes/<author>/<n>``: a public ``Note`` attributed to ``/users/<author>`` (the
  parent of a reply, fetched by the instance when it walks a thread);
* ``POST`` anything: ``202`` (deliveries: the ``Accept`` of a follow, a tribe's announces).

``GET /stats`` on the control port returns how many GETs and POSTs each kind of server
answered. Nothing is verified: this is the outside world of a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = b"application/activity+json"


def key_index(name: str) -> int:
    """The key number encoded at the end of an actor name (``a17-k2`` -> 2)."""
    _, _, tail = name.rpartition("-k")
    return int(tail) if tail.isdigit() else 0


def person(base: str, name: str, pem: str) -> dict[str, Any]:
    """The actor document of ``name`` on the server at ``base``."""
    actor_id = f"{base}/users/{name}"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "name": f"Remote {name}",
        "summary": "<p>Een buurtbewoner elders in de fediverse.</p>",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "following": f"{actor_id}/following",
        "url": f"{base}/@{name}",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
    }


def note(base: str, author: str, number: str) -> dict[str, Any]:
    """A public note by ``author`` (the parent a reply points at)."""
    actor_id = f"{base}/users/{author}"
    note_id = f"{base}/notes/{author}/{number}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": note_id,
        "type": "Note",
        "attributedTo": actor_id,
        "content": f"<p>Oorspronkelijk bericht {number} over de bomen in de wijk.</p>",
        "published": "2026-01-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{actor_id}/followers"],
        "url": note_id,
    }


class Remotes:
    """The documents and counters shared by all ports."""

    def __init__(self, pems: list[str], delay: float, slow: set[int]) -> None:
        self.pems = pems
        self.delay = delay
        self.slow = slow
        self.counts: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def answer_get(self, port: int, path: str) -> tuple[bytes, bytes]:
        """(status line, JSON body) for a GET of ``path`` on the server at ``port``."""
        base = f"http://127.0.0.1:{port}"
        parts = path.split("?", 1)[0].strip("/").split("/")
        doc: dict[str, Any] | None = None
        if len(parts) == 2 and parts[0] == "users":
            doc = person(base, parts[1], self.pems[key_index(parts[1]) % len(self.pems)])
        elif len(parts) == 3 and parts[0] == "notes":
            doc = note(base, parts[1], parts[2])
        if doc is None:
            return b"404 Not Found", b'{"error":"not found"}'
        return b"200 OK", orjson.dumps(doc)

    async def serve(
        self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer requests on one keep-alive connection."""
        slow = port in self.slow
        kind = "slow" if slow else "fast"
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                method, path = head.split(b" ", 2)[:2]
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                if method == b"POST":
                    self._count(f"{kind}_post")
                    writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                else:
                    self._count(f"{kind}_get")
                    status, body = self.answer_get(port, path.decode("latin-1"))
                    writer.write(
                        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + ACTIVITY_JSON
                        + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """``GET /stats`` (JSON) on the control port."""
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                body = orjson.dumps(self.counts)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def main_async(count: int, slow: int, delay: float, pems: list[str]) -> None:
    """Open the ports, announce them, serve forever."""
    remotes = Remotes(pems, delay, set())
    ports: list[int] = []
    servers = []
    for _ in range(count):
        holder: dict[str, int] = {}

        def handler(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, holder: dict[str, int] = holder
        ) -> Any:
            return remotes.serve(holder["port"], r, w)

        server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=256)
        holder["port"] = server.sockets[0].getsockname()[1]
        ports.append(holder["port"])
        servers.append(server)
    remotes.slow = set(ports[count - slow :]) if slow else set()
    control = await asyncio.start_server(remotes.control, "127.0.0.1", 0)
    sys.stdout.write(orjson.dumps({
        "ports": ports, "slow": sorted(remotes.slow),
        "control": control.sockets[0].getsockname()[1],
    }).decode() + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--slow", type=int, default=1)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--keys", required=True, help="JSON list of public key PEMs")
    args = parser.parse_args()
    with open(args.keys, "rb") as handle:
        pems = orjson.loads(handle.read())
    import uvloop

    uvloop.run(main_async(args.count, args.slow, args.delay, pems))


if __name__ == "__main__":
    main()
