"""A real loopback HTTP server for the protocol library tests.

A tiny HTTP/1.1 responder on 127.0.0.1 (port 0), so the fetcher and delivery code talk to a
real socket instead of a mock transport. Each test installs a handler
``async (LoopbackRequest) -> (status, headers, body)``. Import as
``from loopback_server import ...`` (the ``loopback`` fixture is in this folder's conftest).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Handler", "LoopbackRequest", "LoopbackServer", "Response", "serve_one"]


@dataclass
class LoopbackRequest:
    """A request as the loopback server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[LoopbackRequest], Awaitable[Response]]


async def _not_found(_: LoopbackRequest) -> Response:
    return 404, {}, b""


@dataclass
class LoopbackServer:
    """A running loopback server; set ``handler`` and read ``requests``."""

    host: str
    port: int
    handler: Handler = _not_found
    requests: list[LoopbackRequest] = field(default_factory=list)

    @property
    def base(self) -> str:
        """Base URL such as ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        """``host:port`` as used in Host headers and ids."""
        return f"{self.host}:{self.port}"


_REASONS = {200: "OK", 202: "Accepted", 301: "Moved", 302: "Found", 401: "Unauthorized"}


async def serve_one(
    server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        first = await reader.read(1)
        if first in (b"", b"\x16"):
            # Empty, or a TLS ClientHello (an https attempt): this server speaks plain HTTP.
            return
        head = first + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        request = LoopbackRequest(method, target, headers, body)
        server.requests.append(request)
        status, out_headers, out_body = await server.handler(request)
        out = {"Content-Length": str(len(out_body)), "Connection": "close", **out_headers}
        if out.pop("X-No-Length", None) is not None:
            # Close-delimited body, so the client cannot know the size up front.
            del out["Content-Length"]
        reply = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        reply += "".join(f"{k}: {v}\r\n" for k, v in out.items()) + "\r\n"
        writer.write(reply.encode("latin-1") + out_body)
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
