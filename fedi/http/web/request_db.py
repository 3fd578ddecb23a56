"""One database session per request, opened on first use and closed when the request ends.

Finding the logged-in person, the view's own queries and the unread-notifications count in
the page header all use this one session, instead of a session (a pool checkout, and with
SQLite a hand-off to the connection's thread for every statement) each. A request that
needs no database (an anonymous visitor on a cached page, a cached actor document) never
opens one.

``request_session()`` blocks behave like ``Database.session()``: they commit when they end
without error and roll back otherwise; the session stays usable afterwards for the rest of
the request. ``close_request_session`` runs when the request is torn down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quart import g
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.db import committing
from fedi.state import get_state

_G_KEY = "_fedi_db_session"


def current_session() -> AsyncSession:
    """The request's session, opened now if this is the first use."""
    session: AsyncSession | None = g.get(_G_KEY)
    if session is None:
        session = get_state().db.sessions()
        setattr(g, _G_KEY, session)
    return session


def has_session() -> bool:
    """Whether this request opened a session already."""
    return g.get(_G_KEY) is not None


@asynccontextmanager
async def request_session() -> AsyncIterator[AsyncSession]:
    """The request's session for a block that commits on success, rolls back on error."""
    async with committing(current_session()) as session:
        yield session


async def close_request_session(_error: BaseException | None = None) -> None:
    """Close the request's session, if it opened one (a teardown function of the app)."""
    session: AsyncSession | None = g.pop(_G_KEY, None)
    if session is not None:
        await session.close()
