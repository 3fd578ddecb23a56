"""The machine's HTTP ceiling: a bare ASGI JSON endpoint, and a raw-socket responder.

``python -m bench.bare --server uvicorn|hypercorn|raw --port P``

``uvicorn`` / ``hypercorn`` serve a minimal ASGI app (one JSON answer, nothing else) with the
same server settings ``fedi serve`` uses, so the ratio "our requests/s : bare requests/s"
shows what the framework, the app and the database cost. ``raw`` answers fixed bytes straight
from an asyncio protocol: no HTTP server can be faster, so it measures the load generator's
own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

BODY = b'{"ok":true}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A minimal ASGI app: every HTTP request gets the same small JSON document."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


class _Raw(asyncio.Protocol):
    """Answers every complete request head with a fixed response (GETs only)."""

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(BODY)).encode()
        + b"\r\n\r\n"
        + BODY
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer.rsplit(b"\r\n\r\n", 1)[1]
            self.transport.write(self.RESPONSE * count)  # type: ignore[attr-defined]


async def _serve_raw(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Raw, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "hypercorn", "raw"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.server == "raw":
        import uvloop

        uvloop.run(_serve_raw(args.port))
        return
    from fedi.cli.serve_commands import run_asgi

    run_asgi(app, f"127.0.0.1:{args.port}", args.server, install_signals=True)


if __name__ == "__main__":
    main()
