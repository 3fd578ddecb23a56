"""A micro-cache of public pages for anonymous visitors, served in front of Quart, which
also answers actor documents straight from the document cache.

A popular tribe or initiative page is read by many visitors who are not logged in, and
each of them would get exactly the same HTML. For one second after it was rendered, such a
page is sent again from memory by an ASGI middleware, before Quart, the session lookup or
the database are involved. The rules:

* only ``GET`` requests without a session cookie and without a flash-message cookie, that
  do not ask for ActivityPub JSON; the key is the path, the query string and the locale;
* only pages whose view called :func:`public_page` (it shows nothing private: a tribe's
  about page, a public initiative) and that answered 200 without setting a cookie;
* never for logged-in people (they have a session cookie) and never for restricted
  content (the view does not offer it);
* forms on a cached page carry a placeholder instead of a CSRF token; the middleware puts
  each visitor's own token in (and sets the anonymous-browser cookie when it is new), so
  no visitor ever receives another visitor's token;
* a commit in this process that changes anything shown on pages (``fedi.db_changes``)
  empties the cache at once; changes by another process (``fedi worker``) show after at
  most ``TTL_SECONDS``;
* when a cached page expires, one request renders it again while concurrent requests for
  the same page wait for that one (no stampede of identical renders).

Actor documents asked for with an ActivityPub ``Accept`` are answered from
``fedi.federation.documents.cache`` when it holds them (the app fills it on a miss): the same
bytes and headers the route would send, without Quart's request machinery.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

from quart import g, request
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.http import dump_cookie, parse_cookie

from fedi.db_changes import Changes, watch
from fedi.domain import tribes
from fedi.federation.documents.cache import document_cache, key_for_path
from fedi.http.ap.actors import ACTIVITY_JSON_UTF8, wants_activity_json
from fedi.http.headers import security_headers
from fedi.http.web.csrf import SCOPE_PLACEHOLDER, anonymous_token
from fedi.http.web.short_cache import ShortCache, remembered
from fedi.state import AppState, FediApp, Slot
from models import Tribe

TTL_SECONDS = 1.0
MAX_ENTRIES = 512
MAX_BODY_BYTES = 256 * 1024
# All kept pages together, so the cache never weighs on the process's memory (pages are
# 5-70 KB; the oldest go first).
MAX_TOTAL_BYTES = 16 * 1024 * 1024
# How long an expired page still counts as "cacheable" for the one-render-at-a-time rule.
REMEMBER_SECONDS = 60.0
# How long a request waits for the render of the same page by another one.
WAIT_SECONDS = 5.0


def document_headers(secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    """What the app answers an actor document with (``activity_json_bytes`` and the headers
    every response gets in ``fedi.app``); tests compare both answers."""
    return (
        (b"content-type", ACTIVITY_JSON_UTF8.encode()),
        (b"vary", b"Accept"),
        *((name.lower().encode(), value.encode()) for name, value in security_headers(secure)),
    )


SCOPE_KEY = "fedi.page_cache_key"
SCOPE_STORE = "fedi.page_cache_store"

Key = tuple[str, bytes, str]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Entry:
    """One rendered page: status, headers and body (with the CSRF placeholder in forms)."""

    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class PageCache:
    """Rendered anonymous pages by (path, query, locale); see the module notes."""

    def __init__(
        self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        # 64 hex digits, the length of a real token, so Content-Length stays right.
        self.placeholder = secrets.token_hex(32)
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.rendering: dict[Key, asyncio.Future[None]] = {}
        self.total_bytes = 0

    def fresh(self, key: Key) -> Entry | None:
        """The page if it was rendered less than ``ttl`` ago."""
        entry = self.entries.get(key)
        if entry is None or entry.expires <= self.clock():
            return None
        return entry

    def was_cacheable(self, key: Key) -> bool:
        """Whether the page was cached recently (so concurrent misses should wait)."""
        entry = self.entries.get(key)
        if entry is None:
            return False
        if entry.expires + REMEMBER_SECONDS <= self.clock():
            self._drop(key)
            return False
        return True

    def store(self, key: Key, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Keep a rendered page for ``ttl`` seconds."""
        self._drop(key)
        self.entries[key] = Entry(self.clock() + self.ttl, status, headers, body)
        self.total_bytes += len(body)
        while len(self.entries) > self.max_entries or self.total_bytes > MAX_TOTAL_BYTES:
            self._drop(next(iter(self.entries)))

    def on_changes(self, changes: Changes) -> None:
        """Called after a commit in this process (``fedi.db_changes``)."""
        if changes.content:
            self.entries.clear()
            self.total_bytes = 0

    def _drop(self, key: Key) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.total_bytes -= len(entry.body)


PAGE_CACHE: Slot[PageCache] = Slot("page_cache")


def page_cache(state: AppState) -> PageCache:
    """The app's page cache (made, and registered for change notices, on first use)."""
    cache = state.get(PAGE_CACHE)
    if cache is None:
        cache = PageCache()
        state.put(PAGE_CACHE, cache)
        watch(state.db.engine, cache)
    return cache


def public_page() -> bool:
    """Offer the page this view is about to render to the cache; call it before rendering.

    Only for pages that show an anonymous visitor nothing that depends on who they are or
    on what they may see. Returns whether the page may be cached (an anonymous request the
    middleware let through); forms then carry the placeholder token.
    """
    if g.get("user") is not None or SCOPE_KEY not in request.scope:
        return False
    # Our own keys in the ASGI scope: Quart types the scope as a TypedDict of ASGI's keys.
    cast(dict[str, Any], request.scope)[SCOPE_STORE] = True
    g.csrf_placeholder = True
    return True


def _cookie_suffix(host: str) -> str:
    # The same per-host suffix as ``fedi.http.web.session.cookie_name``.
    return hashlib.sha256(host.encode()).hexdigest()[:8]


def _request_headers(scope: Scope) -> tuple[str, str]:
    """The ``Cookie`` header(s) joined, and the ``Accept`` header."""
    cookies: list[str] = []
    accept = ""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookies.append(value.decode("latin-1"))
        elif name == b"accept":
            accept = value.decode("latin-1")
    return "; ".join(cookies), accept


class PageCacheMiddleware:
    """The ASGI side of the page cache: answers from it, and keeps what views offered."""

    def __init__(self, app: FediApp, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        settings = app.state.settings
        suffix = _cookie_suffix(settings.host)
        self.secret_key = settings.secret_key
        self.secure = settings.secure
        self.document_headers = document_headers(settings.secure)
        self.private_cookies = (
            f"fedi_session_{suffix}=", str(app.config["SESSION_COOKIE_NAME"]) + "="
        )
        self.lang_cookie = f"fedi_lang_{suffix}"
        self.anon_cookie = f"fedi_anon_{suffix}"
        self.cache = page_cache(app.state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.inner(scope, receive, send)
            return
        cookie_header, accept = _request_headers(scope)
        if accept and wants_activity_json(accept):
            await self._document(scope, receive, send)
            return
        # A plain substring test: whatever a cookie parser makes of an odd header, a request
        # that may carry a session or flash messages is never answered from the cache.
        if cookie_header and any(name in cookie_header for name in self.private_cookies):
            await self.inner(scope, receive, send)
            return
        cookies = parse_cookie(cookie_header) if cookie_header else {}
        locale = self.app.state.translator.pick(cookies.get(self.lang_cookie), None)
        key: Key = (scope["path"], scope.get("query_string", b""), locale)
        anon = cookies.get(self.anon_cookie)
        cache = self.cache
        entry = cache.fresh(key)
        if entry is None and key in cache.rendering:
            try:
                await asyncio.wait_for(asyncio.shield(cache.rendering[key]), WAIT_SECONDS)
            except TimeoutError:
                pass
            entry = cache.fresh(key)
        if entry is not None:
            await self._send(send, entry.status, entry.headers, entry.body, anon)
            return
        leader: asyncio.Future[None] | None = None
        if cache.was_cacheable(key) and key not in cache.rendering:
            leader = asyncio.get_running_loop().create_future()
            cache.rendering[key] = leader
        scope[SCOPE_KEY] = key
        scope[SCOPE_PLACEHOLDER] = cache.placeholder
        try:
            await self.inner(scope, receive, self._capture(scope, key, anon, send))
        finally:
            if leader is not None:
                cache.rendering.pop(key, None)
                leader.set_result(None)

    async def _document(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An actor document (``/users/<name>``, ``/tribes/<slug>``, ``/actor``) from the
        document cache when it holds it; anything else goes to the app, which fills it."""
        key = key_for_path(scope["path"])
        body = document_cache(self.app.state).get(key) if key is not None else None
        if body is None:
            await self.inner(scope, receive, send)
            return
        headers = [*self.document_headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _capture(self, scope: Scope, key: Key, anon: str | None, send: Send) -> Send:
        """A ``send`` that keeps an offered page and fills in the visitor's CSRF token."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            kind = message["type"]
            if kind == "http.response.start" and scope.get(SCOPE_STORE):
                start = message
                return
            if kind != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            status = int(start["status"])
            headers = list(start.get("headers", []))
            if (
                status == 200 and len(body) <= MAX_BODY_BYTES
                and not any(name.lower() == b"set-cookie" for name, _value in headers)
            ):
                self.cache.store(key, status, headers, body)
            await self._send(send, status, headers, body, anon)

        return capture

    async def _send(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
        anon: str | None,
    ) -> None:
        placeholder = self.cache.placeholder.encode()
        if placeholder in body:
            if not anon:
                anon = secrets.token_urlsafe(16)
                cookie = dump_cookie(
                    self.anon_cookie, anon, httponly=True, secure=self.secure,
                    samesite="Lax", path="/",
                )
                headers = [*headers, (b"set-cookie", cookie.encode("latin-1"))]
            body = body.replace(placeholder, anonymous_token(self.secret_key, anon).encode())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install(app: FediApp) -> None:
    """Put the page cache in front of ``app``."""
    # Quart types asgi_app as its own callable; the middleware is a plain ASGI app around it.
    app.asgi_app = cast(Any, PageCacheMiddleware(app, cast(Any, app.asgi_app)))  # type: ignore[method-assign]


# ------------------------------------------------------------------ tribe numbers

# The tribe's header numbers (members, followers, initiatives): every tribe page shows them
# and counting 10,000 memberships costs about a millisecond each time. Kept a few seconds
# under the rules of ``fedi.http.web.short_cache`` (a join here shows at once).
COUNTS_CACHE: Slot[ShortCache[int, tribes.TribeCounts]] = Slot("tribe_counts_cache")


async def cached_tribe_counts(db: AsyncSession, tribe: Tribe) -> tribes.TribeCounts:
    """``tribes.tribe_counts``, kept for a few seconds (``fedi.http.web.short_cache``)."""
    return await remembered(COUNTS_CACHE, tribe.id, lambda: tribes.tribe_counts(db, tribe))
