"""Loopback sink servers: real HTTP/1.1 inboxes on 127.0.0.1 that record what they receive.

A :class:`Sink` listens on a free port (``asyncio.start_server``), keeps connections alive
like a real server, reads each request body in full and answers with whatever its
``respond`` callback says (default ``202``). It counts received activities by inbox path and
activity id, so a test can assert that every inbox got every activity, and how many
duplicates arrived. ``delay`` slows each answer (to catch deliveries in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

__all__ = ["Sink", "SinkRequest"]


@dataclass
class SinkRequest:
    """One request as the sink received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity_id(self) -> str | None:
        """The ``id`` of the JSON body, if any."""
        try:
            doc = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None
        return doc.get("id") if isinstance(doc, dict) else None


Respond = Callable[[SinkRequest], tuple[int, dict[str, str]]]


@dataclass
class Sink:
    """A loopback HTTP server collecting POSTed activities."""

    respond: Respond | None = None
    delay: float = 0.0
    requests: list[SinkRequest] = field(default_factory=list)
    by_inbox: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    port: int = 0
    _server: asyncio.Server | None = None
    _conns: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> Sink:
        """Start listening on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the domain of inboxes on this sink."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this sink."""
        return f"http://{self.host}{path}"

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._conns):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def count(self, activity_id: str) -> int:
        """How many times ``activity_id`` arrived, over all inboxes."""
        return sum(c[activity_id] for c in self.by_inbox.values())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                request = SinkRequest(method, target, headers, body)
                if self.delay:
                    await asyncio.sleep(self.delay)
                status, extra = self.respond(request) if self.respond else (202, {})
                # Counted only once the answer is decided, like a server that stored it.
                self.requests.append(request)
                if request.activity_id and 200 <= status < 300:
                    self.by_inbox[target][request.activity_id] += 1
                out = [f"HTTP/1.1 {status} X", "Content-Length: 0"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._conns.discard(writer)
            writer.close()
