"""Reading server-sent events in tests: from Quart's test client or from a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    """One server-sent event."""

    name: str
    data: dict[str, Any]


@dataclass
class EventReader:
    """Parses SSE frames out of body chunks and hands them out one event at a time."""

    buffer: str = ""
    seen: list[Event] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[Event]:
        """Add a chunk; return the complete events it finished."""
        self.buffer += chunk.decode()
        found: list[Event] = []
        while "\n\n" in self.buffer:
            frame, self.buffer = self.buffer.split("\n\n", 1)
            name, data = "message", ""
            for line in frame.splitlines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
            if data:
                found.append(Event(name, json.loads(data)))
        self.seen.extend(found)
        return found


class ClientStream:
    """An open ``/live`` stream through Quart's test client."""

    def __init__(self, connection: Any) -> None:
        """Wrap an entered test connection."""
        self.connection = connection
        self.reader = EventReader()
        self.pending: list[Event] = []

    async def next_event(self, within: float = 20.0) -> Event:
        """The next event (keep-alive comments skipped); fails after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self.pending:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no event within {within}s; seen {self.reader.seen}")
            try:
                chunk = await asyncio.wait_for(self.connection.receive(), left)
            except TimeoutError:
                continue
            self.pending.extend(self.reader.feed(chunk))
        return self.pending.pop(0)

    async def wait_for(self, name: str, within: float = 20.0, **data: Any) -> Event:
        """The next event called ``name`` whose data contains ``data`` (others skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            event = await self.next_event(max(0.1, deadline - loop.time()))
            if event.name == name and all(event.data.get(k) == v for k, v in data.items()):
                return event


@asynccontextmanager
async def client_stream(client: Any, path: str) -> AsyncIterator[tuple[int, ClientStream]]:
    """Open ``path`` as a stream; yields its status and the stream (closed on leaving)."""
    async with client.request(path, headers={"Accept": "text/event-stream"}) as connection:
        await connection.send_complete()
        stream = ClientStream(connection)
        for _ in range(1000):  # the status line comes first; bounded at ~20 s
            if connection.status_code is not None:
                break
            await asyncio.sleep(0.02)
        try:
            yield connection.status_code or 0, stream
        finally:
            await connection.disconnect()


class HttpStream:
    """An open ``/live`` stream on a real server (httpx)."""

    def __init__(self, response: httpx.Response) -> None:
        """Wrap a streaming response."""
        self.response = response
        self.chunks = response.aiter_raw()
        self.reader = EventReader()
        self.pending: list[Event] = []

    async def wait_for(self, name: str, within: float = 30.0, **data: Any) -> Event:
        """The next event called ``name`` whose data contains ``data``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            while self.pending:
                event = self.pending.pop(0)
                if event.name == name and all(event.data.get(k) == v for k, v in data.items()):
                    return event
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {name} event within {within}s; seen {self.reader.seen}")
            try:
                chunk = await asyncio.wait_for(self.chunks.__anext__(), left)
            except TimeoutError:
                continue
            self.pending.extend(self.reader.feed(chunk))


@asynccontextmanager
async def http_stream(
    client: httpx.AsyncClient, url: str
) -> AsyncIterator[HttpStream]:
    """Open ``url`` on a real server as an event stream."""
    async with client.stream(
        "GET", url, headers={"Accept": "text/event-stream"}, timeout=httpx.Timeout(60.0)
    ) as response:
        assert response.status_code == 200, response.status_code
        yield HttpStream(response)
