"""Browser sessions: who is logged in, logging in and out.

The cookie holds a random token; only its SHA-256 hash is stored, so a database leak does
not hand out live sessions. Changing a password ends every other session of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from quart import Response, g, request
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import defaultload

from fedi.domain.notifications import unread_count_of
from fedi.http.web.request_db import current_session, has_session
from fedi.state import get_state
from models import Actor, LoginSession, User, utcnow

SESSION_LIFETIME = timedelta(days=30)
# Refresh last_seen at most this often, to avoid a write on every page view.
TOUCH_INTERVAL = timedelta(minutes=10)


# Every page a member sees starts with this statement: built once (not per request), and
# without the second query for the person's talents (pages that show them load them,
# ``ensure_talents_loaded``).
_SESSION_BY_TOKEN = (
    select(LoginSession, User)
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
    .options(defaultload(User.actor).lazyload(Actor.talents))
)
# For a GET, the page header's unread count rides along: one statement fewer per page (each
# costs ~0.35 ms of CPU, most of it the ORM's, not SQLite's). A POST counts after its
# changes instead (``fedi.http.web.render``).
_SESSION_AND_UNREAD_BY_TOKEN = _SESSION_BY_TOKEN.add_columns(unread_count_of(User.actor_id))
# Where the count waits for ``render`` on ``g``.
UNREAD_KEY = "_fedi_unread_notifications"


def hash_token(token: str) -> str:
    """The stored form of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


_COOKIE_NAMES: dict[tuple[str, str], str] = {}


def cookie_name(base: str) -> str:
    """A cookie name unique per instance host, so instances on one machine don't collide.

    Browsers share cookies across ports of one host; two test instances on
    localhost:8001 and localhost:8002 would otherwise log each other out.
    """
    host = get_state().settings.host
    name = _COOKIE_NAMES.get((base, host))
    if name is None:
        # Read several times on every request (session, language, anonymous id): hashed once.
        suffix = hashlib.sha256(host.encode()).hexdigest()[:8]
        name = _COOKIE_NAMES[(base, host)] = f"{base}_{suffix}"
    return name


async def load_current_user() -> None:
    """Set ``g.user`` and ``g.login_session`` from the session cookie (or None).

    Without a session cookie nothing is read. With one, the lookup runs in the request's
    session (``fedi.http.web.request_db``), which the view and the page header use afterwards;
    its transaction ends here so no connection is held while the view works. The objects
    are handed out detached, as views pass them into sessions of their own.
    """
    g.user = None
    g.login_session = None
    token = request.cookies.get(cookie_name("fedi_session"))
    if not token:
        return
    # Whether the lookup opens the request's session: then, once committed, it holds only
    # what the lookup read, and detaching everything at once is cheaper than one by one.
    fresh = not has_session()
    db = current_session()
    with_unread = request.method in ("GET", "HEAD")
    try:
        row = (
            await db.execute(
                _SESSION_AND_UNREAD_BY_TOKEN if with_unread else _SESSION_BY_TOKEN,
                {"token_hash": hash_token(token)},
            )
        ).first()
        if row is None:
            await db.commit()
            return
        login_session, user = row[0], row[1]
        now = utcnow()
        if login_session.expires_at <= now or user.disabled or not user.approved:
            await db.delete(login_session)
            await db.commit()
            return
        if now - login_session.last_seen_at > TOUCH_INTERVAL:
            login_session.last_seen_at = now
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    if fresh:
        db.expunge_all()
    else:
        for obj in (login_session, user, user.actor):
            if obj in db:
                db.expunge(obj)
    g.user = user
    g.login_session = login_session
    if with_unread:
        setattr(g, UNREAD_KEY, int(row[2] or 0))


async def start_session(user: User, response: Response) -> None:
    """Log ``user`` in: store a new session and set its cookie on ``response``."""
    state = get_state()
    token = secrets.token_urlsafe(32)
    async with state.db.session() as db:
        db.add(
            LoginSession(
                user_id=user.id,
                token_hash=hash_token(token),
                csrf_token=secrets.token_urlsafe(24),
                expires_at=utcnow() + SESSION_LIFETIME,
                user_agent=(request.headers.get("User-Agent") or "")[:255],
            )
        )
        db_user = await db.get(User, user.id)
        if db_user is not None:
            db_user.last_login_at = utcnow()
    response.set_cookie(
        cookie_name("fedi_session"),
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=state.settings.secure,
        samesite="Lax",
        path="/",
    )


async def end_session(response: Response) -> None:
    """Log out: forget the current session and clear its cookie."""
    token = request.cookies.get(cookie_name("fedi_session"))
    if token:
        async with get_state().db.session() as db:
            await db.execute(
                delete(LoginSession).where(LoginSession.token_hash == hash_token(token))
            )
    response.delete_cookie(cookie_name("fedi_session"), path="/")


async def end_other_sessions(user_id: int, keep_session_id: int | None) -> None:
    """End every session of a user except one (after a password change)."""
    async with get_state().db.session() as db:
        query = delete(LoginSession).where(LoginSession.user_id == user_id)
        if keep_session_id is not None:
            query = query.where(LoginSession.id != keep_session_id)
        await db.execute(query)
