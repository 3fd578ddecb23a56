"""Committed writes, announced to the in-process caches (actor documents, anonymous pages).

The caches of one ``fedi serve`` process must forget what a change made stale. Rather than
asking every service that edits a profile, a tribe or a key to remember every cache, this
module watches the ORM: after each commit in this process it tells the caches registered
for that database what the transaction changed.

* ``actor_ids``: local actors whose public document may have changed (the ``actors`` row,
  its talents, its account, its tribe row);
* ``all_actors``: a bulk ``UPDATE``/``DELETE`` touched those tables, so any document may
  have changed;
* ``content``: something shown on pages changed (anything but queue and session
  bookkeeping).

Caches register per database URL, so a second ``Database`` on the same file in the same
process (the tests do this) invalidates them too. Writes made by another process (``fedi
worker``, a CLI command) are not seen here; each cache bounds how long it may keep a stale
entry with its own time-to-live.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session

from models import Actor, ActorTalent, Tribe, User

# Tables whose rows make up actor documents.
ACTOR_TABLES = frozenset({"actors", "actor_talents", "users", "tribes"})
# Queue, session and rate-limit bookkeeping: written all the time, never shown on a page.
BOOKKEEPING_TABLES = frozenset({
    "inbox_items", "deliveries", "domain_health", "login_sessions", "api_tokens",
    "password_resets", "rate_limit_hits", "notifications", "notification_settings",
    "inbox_entries",
    # OAuth apps, codes and tokens (issue 14): "last used" is touched by API requests.
    "oauth_apps", "oauth_codes", "oauth_tokens",
})
_INFO_KEY = "fedi_changes"


@dataclass
class Changes:
    """What one committed transaction changed (see the module notes)."""

    actor_ids: set[int] = field(default_factory=set)
    all_actors: bool = False
    content: bool = False

    def __bool__(self) -> bool:
        return bool(self.actor_ids or self.all_actors or self.content)


class Watcher(Protocol):
    """A cache that wants to hear about committed changes."""

    def on_changes(self, changes: Changes) -> None:
        """Forget what ``changes`` made stale."""


_watchers: dict[str, weakref.WeakSet[Any]] = {}


def _url_of(bind: Any) -> str | None:
    url = getattr(bind, "url", None)
    return None if url is None else url.render_as_string(hide_password=True)


def watch(engine: AsyncEngine, watcher: Watcher) -> None:
    """Call ``watcher.on_changes`` after every commit that changed this database.

    Held weakly: a cache that is gone (its app was dropped) is simply not called.
    """
    url = _url_of(engine.sync_engine)
    if url is not None:
        _watchers.setdefault(url, weakref.WeakSet()).add(watcher)


def _pending(session: Session) -> Changes:
    changes = session.info.get(_INFO_KEY)
    if changes is None:
        changes = session.info[_INFO_KEY] = Changes()
    return changes


def _note_object(changes: Changes, obj: object) -> None:
    table = getattr(getattr(obj, "__table__", None), "name", "")
    if table not in BOOKKEEPING_TABLES:
        changes.content = True
    actor_id: int | None = None
    if isinstance(obj, Actor):
        # Remote actors are refreshed all the time and have no document of ours.
        actor_id = obj.id if obj.local else None
    elif isinstance(obj, ActorTalent | User | Tribe):
        actor_id = obj.actor_id
    if actor_id is not None:
        changes.actor_ids.add(actor_id)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if not _watchers:
        return
    changes = _pending(session)
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            _note_object(changes, obj)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not _watchers or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", "")
    changes = _pending(state.session)
    if table not in BOOKKEEPING_TABLES:
        changes.content = True
    # A new row cannot make a cached document stale, except a talent added in bulk.
    if table in ACTOR_TABLES and (not state.is_insert or table == "actor_talents"):
        changes.all_actors = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changes: Changes | None = session.info.pop(_INFO_KEY, None)
    if not changes:
        return
    url = _url_of(session.get_bind())
    for watcher in list(_watchers.get(url or "", ())):
        watcher.on_changes(changes)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)
