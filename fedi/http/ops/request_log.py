"""One log line per request, the request id, and the request figures for ``/metrics``.

An ASGI middleware around the whole app (page cache included, so pages served from memory
are logged and counted too). For each HTTP request it

* takes the caller's ``X-Request-Id`` when it is a short token, or makes one, keeps it in
  :data:`fedi.logging_setup.REQUEST_ID` while the request is handled (every log record
  written meanwhile carries it) and sends it back in the ``X-Request-Id`` header;
* logs one line on ``fedi.request``: method, path (without the query string, which may hold
  tokens), status, duration in milliseconds and, for a signed request from another server,
  that server (the host of the signature's ``keyId``) — with ``FEDI_LOG_FORMAT=json`` the
  same as fields of one JSON object;
* counts the request by route for ``/metrics`` when metrics are on.

Uvicorn's own access log stays off (``fedi serve``), so each request is one line.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast
from urllib.parse import urlsplit

from quart import request

from fedi.http.ops.metrics import HttpMetrics
from fedi.logging_setup import REQUEST_ID

__all__ = ["ROUTE_KEY", "RequestLogMiddleware", "current_request_id", "remember_route"]

log = logging.getLogger("fedi.request")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTE_KEY = "fedi.route"
# What a caller may send as its own request id: short, and safe to echo and to log.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_KEY_ID = re.compile(r'keyId="([^"]{1,2048})"')
# Route labels for requests that no URL rule answered.
NO_ROUTE = "(none)"
UNMATCHED = "(unmatched)"


def current_request_id() -> str:
    """The id of the request being handled ('' outside a request), for pages and logs."""
    return REQUEST_ID.get() or ""


async def remember_route() -> None:
    """Quart hook: note the matched URL rule, the route label of the request's figures."""
    rule = request.url_rule
    if rule is not None:
        # The ASGI scope is typed as a fixed TypedDict; this key is our own addition.
        cast(dict[str, Any], request.scope)[ROUTE_KEY] = rule.rule


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def remote_server(signature: str) -> str | None:
    """The host of the ``keyId`` in an HTTP ``Signature`` header, or None."""
    found = _KEY_ID.search(signature)
    if found is None:
        return None
    try:
        return urlsplit(found.group(1)).netloc.lower() or None
    except ValueError:  # an unparsable keyId (``http://[::1``): the inbox answers it
        return None


class RequestLogMiddleware:
    """The ASGI middleware described in the module notes."""

    def __init__(self, inner: ASGIApp, *, metrics: HttpMetrics | None, log_lines: bool) -> None:
        """Wrap ``inner``; ``metrics`` None counts nothing, ``log_lines`` off logs no lines."""
        self.inner = inner
        self.metrics = metrics
        self.log_lines = log_lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection (lifespan and others pass straight through)."""
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if _GOOD_ID.match(incoming) else secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        id_header = (b"x-request-id", request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.inner(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._finish(scope, status, seconds)
            REQUEST_ID.reset(token)

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        if self.metrics is not None:
            route = scope.get(ROUTE_KEY) or (UNMATCHED if status == 404 else NO_ROUTE)
            self.metrics.observe(method, str(route), status, seconds)
        if not self.log_lines:
            return
        path = str(scope.get("path", ""))
        millis = round(seconds * 1000, 1)
        signature = _header(scope, b"signature")
        remote = remote_server(signature) if signature else None
        extra: dict[str, Any] = {
            "method": method, "path": path, "status": status, "duration_ms": millis,
        }
        line = f"{method} {path} {status} {millis} ms"
        if remote:
            extra["remote_server"] = remote
            line += f" from {remote}"
        log.log(logging.WARNING if status >= 500 else logging.INFO, line, extra=extra)
