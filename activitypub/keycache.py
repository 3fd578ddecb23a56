"""Resolving remote signature key ids to public keys, with an in-memory LRU cache."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from .origin import same_origin
from .sigbase import PublicKeyInfo
from .vocab import as_list, id_of

__all__ = ["KeyCache", "PublicKeyInfo"]

log = logging.getLogger(__name__)

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
LoadKey = Callable[[str], Awaitable[PublicKeyInfo | None]]
SaveKey = Callable[[PublicKeyInfo, dict[str, Any]], Awaitable[None]]


def _strip_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _find_key(doc: dict[str, Any], key_id: str) -> dict[str, Any] | None:
    for entry in as_list(doc.get("publicKey")):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return entry
    return None


def _lists_key(actor: dict[str, Any], key_id: str, pem: str) -> bool:
    for entry in as_list(actor.get("publicKey")):
        if isinstance(entry, str) and entry == key_id:
            return True
        if isinstance(entry, dict) and entry.get("id") == key_id:
            listed = entry.get("publicKeyPem")
            return listed is None or str(listed).strip() == pem.strip()
    return False


class KeyCache:
    """Turns a signature ``keyId`` into a :class:`PublicKeyInfo`, verifying key ownership.

    ``fetch`` GETs a JSON document (normally :meth:`Fetcher.fetch_json`, which already checks
    that a document's id belongs to the host it came from). ``load``/``save`` let the app keep
    keys (and the actor documents they came with) in its database; the LRU avoids even that
    lookup for busy senders. Use :meth:`resolve` as the ``key_resolver`` of ``verify_request``.

    A signature that does not verify makes the verifier ask for the key again
    (``refresh``), in case its owner rotated it. Anyone can send such a signature in anyone's
    name, so a key is fetched again at most once per ``refresh_interval`` seconds: within
    it, ``refresh`` answers what is known. Without that bound every forged request made us
    fetch the named actor from its server and store it again, and a flood of them cost the
    instance's other senders seconds per accept (``bench/hostile.py``). A real rotation is
    seen at the first request after it (or after the interval, if a forged one came first);
    Mastodon, Lemmy and our own delivery retry a refused POST later.
    """

    def __init__(
        self,
        fetch: FetchJson,
        max_entries: int = 10_000,
        *,
        load: LoadKey | None = None,
        save: SaveKey | None = None,
        refresh_interval: float = 60.0,
    ) -> None:
        """Create a cache holding at most ``max_entries`` keys in memory."""
        self.fetch = fetch
        self.max_entries = max_entries
        self.load = load
        self.save = save
        self.refresh_interval = refresh_interval
        self._lru: OrderedDict[str, PublicKeyInfo] = OrderedDict()
        # When each key was last fetched again after a failed check (monotonic seconds).
        self._refreshed: OrderedDict[str, float] = OrderedDict()

    def _remember(self, info: PublicKeyInfo) -> None:
        self._lru[info.key_id] = info
        self._lru.move_to_end(info.key_id)
        while len(self._lru) > self.max_entries:
            self._lru.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Drop ``key_id`` from the in-memory cache (e.g. when its actor was deleted or
        updated): the next lookup reads it anew, and a refetch is allowed again at once."""
        self._lru.pop(key_id, None)
        self._refreshed.pop(key_id, None)

    async def resolve(self, key_id: str, refresh: bool) -> PublicKeyInfo | None:
        """Return the key for ``key_id``; ``refresh`` bypasses caches and refetches.

        Returns None when the key cannot be obtained or its ownership does not check out.
        """
        known = self._lru.get(key_id)
        if refresh and not self._refetch_allowed(key_id):
            return known if known is not None else await self._stored(key_id)
        if not refresh:
            if known is not None:
                self._lru.move_to_end(key_id)
                return known
            stored = await self._stored(key_id)
            if stored is not None:
                return stored
        try:
            found = await self._fetch_key(key_id)
        except Exception as exc:  # any failure to obtain a key means "unknown"
            log.info("cannot resolve key %s: %s", key_id, exc)
            return None
        if found is None:
            return None
        info, actor = found
        # A refresh that found the key we had (a forged signature, not a rotation) has
        # nothing new to store.
        if self.save is not None and info != known:
            await self.save(info, actor)
        self._remember(info)
        return info

    async def _stored(self, key_id: str) -> PublicKeyInfo | None:
        """The key from the app's store (then kept in memory), if it has one."""
        if self.load is None:
            return None
        stored = await self.load(key_id)
        if stored is not None:
            self._remember(stored)
        return stored

    def _refetch_allowed(self, key_id: str) -> bool:
        """Whether ``key_id`` may be fetched again now (not within the interval since the
        last time); when it may, now becomes the last time."""
        now = time.monotonic()
        last = self._refreshed.get(key_id)
        if last is not None and now - last < self.refresh_interval:
            return False
        self._refreshed[key_id] = now
        self._refreshed.move_to_end(key_id)
        while len(self._refreshed) > self.max_entries:
            self._refreshed.popitem(last=False)
        return True

    async def _fetch_key(self, key_id: str) -> tuple[PublicKeyInfo, dict[str, Any]] | None:
        doc = await self.fetch(_strip_fragment(key_id))
        entry = _find_key(doc, key_id)
        if entry is not None:
            # Usual case (Mastodon, Lemmy, Mobilizon): "actor#main-key" dereferences to the
            # actor, which embeds the key.
            owner = id_of(entry.get("owner")) or id_of(doc)
            pem = entry.get("publicKeyPem")
            if not owner or not isinstance(pem, str):
                return None
            if owner == id_of(doc):
                return PublicKeyInfo(key_id, owner, pem), doc
        elif doc.get("id") == key_id and isinstance(doc.get("publicKeyPem"), str):
            # The key id is a standalone key document (GoToSocial's ".../main-key", FEP-521a
            # style); its owner must confirm the key, or any page could claim any owner.
            owner = id_of(doc.get("owner"))
            pem = str(doc["publicKeyPem"])
            if not owner:
                return None
        else:
            return None
        if not same_origin(owner, key_id):
            log.info("key %s claims foreign owner %s", key_id, owner)
            return None
        actor = await self.fetch(owner)
        if id_of(actor) != owner or not _lists_key(actor, key_id, pem):
            log.info("owner %s does not list key %s", owner, key_id)
            return None
        return PublicKeyInfo(key_id, owner, pem), actor
