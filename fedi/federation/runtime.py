"""The per-app federation runtime: URL policy, fetcher, key cache, instance key, wakeups.

Built once per app by a startup hook (after the HTTP client exists) and kept in
the ``FEDERATION`` slot of the state; ``get_federation(state)`` returns it. Nothing here is a
module global, so two apps in one test process each have their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from activitypub.keycache import KeyCache, PublicKeyInfo
from activitypub.sigbase import SigningKey
from activitypub.urlpolicy import UrlPolicy
from fedi.federation.instance_actor import ensure_instance_actor
from fedi.federation.outgoing_http import outgoing_policy
from fedi.federation.remote.actor_rows import ActorUnavailable, upsert_actor_document
from fedi.federation.remote.memo import MemoFetcher
from fedi.federation.wakeup import Wakeup, attach
from fedi.state import AppState, Slot
from models import Actor

__all__ = ["Federation", "build_federation", "get_federation", "signing_key_of"]


@dataclass
class Federation:
    """Long-lived federation helpers of one app."""

    policy: UrlPolicy
    fetcher: MemoFetcher
    key_cache: KeyCache
    instance_key: SigningKey
    wakeup: Wakeup
    instance_actor_id: str
    # Our own actors' signing keys by actor id, so deliveries need no key query per row.
    signing_keys: dict[int, SigningKey] = field(default_factory=dict)


FEDERATION: Slot[Federation] = Slot("federation")


def signing_key_of(actor: Actor) -> SigningKey:
    """The signing key of a local actor (raises ``ValueError`` for actors without one)."""
    if not actor.local or not actor.private_key_pem or not actor.key_id:
        raise ValueError(f"{actor.ap_id} has no private key here")
    return SigningKey(actor.key_id, actor.private_key_pem)


async def build_federation(state: AppState) -> Federation:
    """Create the runtime for ``state`` (the HTTP client must exist) and store it."""

    if state.http is None:
        raise RuntimeError("build_federation needs state.http (run it from a startup hook)")
    settings = state.settings
    async with state.db.session() as db:
        instance = await ensure_instance_actor(db, settings)
    instance_key = signing_key_of(instance)
    # The same policy the HTTP client's pinned transport connects with.
    policy = outgoing_policy(state)
    # Answers from the item's memo while an inbox item is applied (remote/memo.py).
    fetcher = MemoFetcher(
        state.http,
        policy,
        signer=instance_key,
        instance_signer=instance_key,
        max_bytes=settings.max_body_bytes,
    )

    async def load_key(key_id: str) -> PublicKeyInfo | None:
        async with state.db.session() as db:
            row = (
                await db.execute(
                    select(Actor.ap_id, Actor.public_key_pem).where(Actor.key_id == key_id)
                )
            ).first()
        if row is None or not row.public_key_pem:
            return None
        return PublicKeyInfo(key_id, row.ap_id, row.public_key_pem)

    async def save_key(info: PublicKeyInfo, doc: dict[str, Any]) -> None:
        try:
            async with state.db.session() as db:
                await upsert_actor_document(db, settings, doc)
        except ActorUnavailable:
            pass  # a document claiming our own host: never stored, the key still verifies once

    key_cache = KeyCache(fetcher.fetch_json, load=load_key, save=save_key)
    wakeup = Wakeup()
    attach(state.db.sessions, wakeup)
    federation = Federation(
        policy=policy,
        fetcher=fetcher,
        key_cache=key_cache,
        instance_key=instance_key,
        wakeup=wakeup,
        instance_actor_id=instance.ap_id,
    )
    state.put(FEDERATION, federation)
    return federation


def get_federation(state: AppState) -> Federation:
    """The federation runtime of ``state`` (built when the app started serving)."""
    federation = state.get(FEDERATION)
    if federation is None:
        raise RuntimeError(
            "federation runtime not started: serve the app (or enter app.test_app()) first"
        )
    return federation
