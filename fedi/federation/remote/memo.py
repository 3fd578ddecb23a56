"""No network inside a transaction: the per-item memo of remote documents.

The inbox worker handles an item in two phases. *Prepare* runs with no transaction open and
fetches what the handler will need (the sender, the object, the ``inReplyTo`` chain). *Apply*
runs the handler in one short transaction. While apply runs, the memo of that item is the
current :data:`FETCH_MEMO`, and every network entry point (:class:`MemoFetcher`, which is the
federation runtime's fetcher, and WebFinger in ``resolve_handle``) answers from it instead of
the network. What prepare did not foresee raises :class:`NeedsFetch`: the worker rolls the
transaction back, fetches that one document with no transaction open, adds it to the memo
and applies again. So SQLite's single writer turn is never held across HTTP.

The memo is found through a ``ContextVar``: web requests and other tasks of the same process
never see it, and :func:`applying` switches it off on exit, so a task started during apply
(which copies the context) does not keep answering from it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from activitypub.fetcher import Fetcher, FetchError, NotAnActor
from activitypub.normalize import AsObject

__all__ = [
    "FETCH_MEMO",
    "FetchMemo",
    "MemoFetcher",
    "NeedsFetch",
    "applying",
    "current_memo",
    "is_transient",
]


class NeedsFetch(Exception):
    """Apply asked for a remote document the memo does not hold: fetch it, then apply again.

    ``kind`` is ``"json"`` for a document URL or ``"webfinger"`` for an account handle.
    """

    def __init__(self, key: str, *, kind: str = "json") -> None:
        """Ask for ``key`` (a URL, or a handle when ``kind`` is ``"webfinger"``)."""
        super().__init__(f"needs {kind} {key}")
        self.key = key
        self.kind = kind


@dataclass
class FetchMemo:
    """The remote documents (or the errors fetching them gave) of one inbox item."""

    documents: dict[str, dict[str, Any] | FetchError] = field(default_factory=dict)
    # WebFinger answers: handle -> actor id, or the exception the lookup raised.
    handles: dict[str, str | Exception] = field(default_factory=dict)
    active: bool = False
    # What apply asked for and did not find, (kind, key), in order; the worker fetches these
    # even when a handler swallowed the NeedsFetch, before anything is committed.
    missing: list[tuple[str, str]] = field(default_factory=list)
    # Network failures (not a 404/410) apply was told about: when the handler then gives up
    # on the item, the worker retries it later instead of ignoring it for good.
    transient: list[FetchError] = field(default_factory=list)
    # What prepare already read, so apply does not read it again: the item's activity as
    # loaded from the database, and objects the normaliser read, by the identity of their
    # dict (each kept with its dict, so the identity stays that dict's).
    activity: dict[str, Any] | None = None
    parsed: dict[int, tuple[Any, AsObject]] = field(default_factory=dict)

    def remember_parsed(self, doc: Any, obj: AsObject) -> None:
        """Keep ``obj``, the normalised form of ``doc``, for :meth:`parsed_object`."""
        self.parsed[id(doc)] = (doc, obj)

    def parsed_object(self, doc: Any) -> AsObject | None:
        """The normalised form of this very ``doc`` when prepare read it (None if not)."""
        found = self.parsed.get(id(doc))
        return found[1] if found is not None and found[0] is doc else None

    def remember(self, url: str, result: dict[str, Any] | FetchError) -> None:
        """Keep the document fetched from ``url`` (also under its own id) or the error."""
        self.documents[url] = result
        if isinstance(result, dict):
            ident = result.get("id")
            if isinstance(ident, str) and ident not in self.documents:
                self.documents[ident] = result

    def document(self, url: str) -> dict[str, Any]:
        """The memoised document of ``url``; raises its ``FetchError`` or :class:`NeedsFetch`."""
        found = self.documents.get(url)
        if found is None:
            self.missing.append(("json", url))
            raise NeedsFetch(url)
        if isinstance(found, FetchError):
            if is_transient(found):
                self.transient.append(found)
            raise found
        return found

    def handle(self, handle: str) -> str:
        """The memoised WebFinger answer for ``handle`` (an actor id), or raise."""
        found = self.handles.get(handle)
        if found is None:
            self.missing.append(("webfinger", handle))
            raise NeedsFetch(handle, kind="webfinger")
        if isinstance(found, Exception):
            raise found
        return found


def is_transient(error: FetchError) -> bool:
    """Whether fetching again later may succeed (timeout, connection error, 5xx, 429)."""
    if error.gone or error.refused or isinstance(error, NotAnActor):
        return False
    return error.status is None or error.status >= 500 or error.status == 429


FETCH_MEMO: contextvars.ContextVar[FetchMemo | None] = contextvars.ContextVar(
    "fedi_fetch_memo", default=None
)


def current_memo() -> FetchMemo | None:
    """The memo of the item being applied in this task, or None (the network may be used)."""
    memo = FETCH_MEMO.get()
    return memo if memo is not None and memo.active else None


@contextmanager
def applying(memo: FetchMemo) -> Iterator[FetchMemo]:
    """Make ``memo`` the answer to every fetch of this task until the block ends."""
    token = FETCH_MEMO.set(memo)
    memo.active = True
    try:
        yield memo
    finally:
        memo.active = False
        FETCH_MEMO.reset(token)


class MemoFetcher(Fetcher):
    """The runtime's fetcher: goes to the network, except while an inbox item is applied."""

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """Fetch ``url``, or answer from the current item's memo while it is applied."""
        memo = current_memo()
        if memo is not None:
            return memo.document(url)
        return await super().fetch_json(url)

    async def fetch_into(self, memo: FetchMemo, url: str) -> dict[str, Any] | FetchError:
        """Fetch ``url`` from the network (never from a memo) and remember it in ``memo``."""
        try:
            result: dict[str, Any] | FetchError = await super().fetch_json(url)
        except FetchError as exc:
            result = exc
        memo.remember(url, result)
        return result
