"""An httpx transport that routes requests by host to in-process ASGI apps.

Federation tests run two (or more) instances in one process. Each app gets this transport as
its ``http_transport`` (``create_app(settings, http_transport=router)``), so when instance
``localhost:8001`` fetches an actor from ``localhost:8002`` or delivers to its inbox, the
request goes straight into the other Quart app through :class:`httpx.ASGITransport`, with no
sockets and no sleeping.

Usage (see ``two_apps`` in ``conftest.py`` for the ready-made pair)::

    from routing import RoutingTransport      # tests/federation is on sys.path under pytest

    router = RoutingTransport()
    app_a = create_app(settings_a, http_transport=router)
    router.add("localhost:8001", app_a)
    router.add("localhost:8002", app_b)       # any ASGI app: a Quart app or a fake server
    router.requests                           # every (method, url) routed so far, in order

Hosts not registered go to ``fallback`` (by default a real ``httpx.AsyncHTTPTransport``), so
tests can mix in-process apps with real loopback sink servers on other ports. Host keys are
``host[:port]`` exactly as they appear in URLs (``localhost:8001``), lowercased.
"""

from __future__ import annotations

from typing import Any

import httpx


class RoutingTransport(httpx.AsyncBaseTransport):
    """Send each request to the ASGI app registered for its ``host:port``."""

    def __init__(self, fallback: httpx.AsyncBaseTransport | None = None) -> None:
        """Create an empty router; unknown hosts go to ``fallback`` (real network by default)."""
        self.routes: dict[str, httpx.AsyncBaseTransport] = {}
        self.fallback = fallback or httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []

    def add(self, host: str, app: Any) -> None:
        """Route requests for ``host`` (``localhost:8001``) into the ASGI ``app``."""
        # raise_app_exceptions=False: a crashing app answers 500 like a real server would,
        # instead of the exception surfacing inside the *sending* app's code.
        self.routes[host.lower()] = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def remove(self, host: str) -> None:
        """Stop routing ``host``; its requests then fail as connection errors."""
        self.routes[host.lower()] = _Unreachable()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Dispatch ``request`` by its URL's ``host[:port]``."""
        self.requests.append((request.method, str(request.url)))
        host = request.url.netloc.decode("ascii").lower()
        target = self.routes.get(host)
        if target is None:
            return await self.fallback.handle_async_request(request)
        return await target.handle_async_request(request)

    async def aclose(self) -> None:
        """Do nothing: every app's client closes its transport, but the router is shared."""

    async def close(self) -> None:
        """Really close the fallback transport (call once, when the test is done)."""
        await self.fallback.aclose()


class _Unreachable(httpx.AsyncBaseTransport):
    """A host that is down: every request fails like a refused connection."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused (host removed from router)", request=request)
