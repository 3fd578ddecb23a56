"""Loopback sink servers for the fan-out benchmark: many ports, one process, counting only.

``python -m bench.sinks --count 500 [--delay 0.2]`` listens on ``count`` free loopback ports
(one "server" each, all in one asyncio loop) plus a control port, prints
``{"ports": [...], "control": PORT}`` on stdout, and serves until killed. Every POST is read in
full, answered ``202`` after ``delay`` seconds and counted; nothing is verified. ``GET /stats``
on the control port returns how many requests arrived (and of which activity types), how many
distinct ``Signature`` headers, how many ports were reached, the wall-clock time
(``time.time()``) at which the last port got its first request and at which the last request
arrived; ``POST /reset`` clears the counters and ``POST /delay/MS`` sets the answer delay.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson


class Sinks:
    """The counters shared by all sink ports."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.requests = 0
        self.first_at: dict[int, float] = {}
        self.per_port: dict[int, int] = {}
        self.signatures: set[int] = set()
        self.types: dict[str, int] = {}
        self.last_at: float | None = None

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters."""
        return {
            "requests": self.requests,
            "ports_reached": len(self.first_at),
            "last_first_at": max(self.first_at.values()) if self.first_at else None,
            "first_at": min(self.first_at.values()) if self.first_at else None,
            "max_per_port": max(self.per_port.values()) if self.per_port else 0,
            "distinct_signatures": len(self.signatures),
            "last_at": self.last_at,
            "types": dict(self.types),
        }

    def count(self, port: int, body: bytes) -> None:
        """Count one answered request (its activity type, e.g. ``Announce(Create)``)."""
        now = time.time()
        self.requests += 1
        self.per_port[port] = self.per_port.get(port, 0) + 1
        self.first_at.setdefault(port, now)
        self.last_at = now
        try:
            activity = orjson.loads(body)
            inner = activity.get("object")
            kind = str(activity.get("type"))
            if isinstance(inner, dict):
                kind += f"({inner.get('type')})"
        except (orjson.JSONDecodeError, AttributeError):
            kind = "not JSON"
        self.types[kind] = self.types.get(kind, 0) + 1

    async def serve(
        self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer requests on one keep-alive connection."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    lowered = name.lower()
                    if lowered == b"content-length":
                        length = int(value.strip())
                    elif lowered == b"signature":
                        self.signatures.add(hash(value))
                body = await reader.readexactly(length) if length else b""
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.count(port, body)
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """``GET /stats`` (JSON) and ``POST /reset`` on the control port."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"POST /reset"):
                    self.requests = 0
                    self.first_at.clear()
                    self.per_port.clear()
                    self.signatures.clear()
                    self.types.clear()
                    self.last_at = None
                elif head.startswith(b"POST /delay/"):
                    self.delay = int(head.split(b" ", 2)[1].rsplit(b"/", 1)[1]) / 1000
                body = orjson.dumps(self.stats())
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def main_async(count: int, delay: float) -> None:
    """Open the ports, announce them, serve forever."""
    sinks = Sinks(delay)
    servers = []
    ports = []
    for _ in range(count):
        holder: dict[str, int] = {}

        def handler(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, holder: dict[str, int] = holder
        ) -> Any:
            return sinks.serve(holder["port"], r, w)

        server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=256)
        holder["port"] = server.sockets[0].getsockname()[1]
        ports.append(holder["port"])
        servers.append(server)
    control = await asyncio.start_server(sinks.control, "127.0.0.1", 0)
    sys.stdout.write(
        orjson.dumps({"ports": ports, "control": control.sockets[0].getsockname()[1]}).decode()
        + "\n"
    )
    sys.stdout.flush()
    await asyncio.Event().wait()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    import uvloop

    uvloop.run(main_async(args.count, args.delay))


if __name__ == "__main__":
    main()
