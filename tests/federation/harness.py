"""Helpers for in-process federation tests: app pairs on a routing transport, and ``drain``.

Import from test modules as ``from harness import drain, make_app`` (pytest puts
tests/federation on sys.path). The ``two_apps`` fixture in ``conftest.py`` builds on these.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing import RoutingTransport
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.keys import generate_rsa_keypair
from activitypub.vocab import host_of
from fedi.app import create_app
from fedi.settings import Settings
from fedi.state import FediApp
from fedi.workers.delivery import DeliveryWorker
from fedi.workers.inbox import InboxWorker
from models import Actor, Follow

__all__ = [
    "AppPair",
    "add_follow",
    "add_local_person",
    "add_remote_actor",
    "drain",
    "make_app",
    "note_activity",
    "test_keypair",
    "workers_of",
]

_KEYPAIR: list[tuple[str, str]] = []


def test_keypair() -> tuple[str, str]:
    """One RSA key pair generated per test run, for fixtures that need many keyed actors."""
    if not _KEYPAIR:
        _KEYPAIR.append(generate_rsa_keypair())
    return _KEYPAIR[0]


async def add_local_person(db: AsyncSession, settings: Settings, username: str) -> Actor:
    """A local ``Person`` actor (no login account) shaped like ``create_user`` makes them.

    Much faster than ``create_user`` (no password hashing, shared key pair) for tests that
    only need somebody to address, follow or publish as.
    """
    private_pem, public_pem = test_keypair()
    actor_id = settings.url(f"/users/{username}")
    actor = Actor(
        ap_id=actor_id, type="Person", local=True, username=username, domain=settings.host,
        url=settings.url(f"/@{username}"), inbox=f"{actor_id}/inbox",
        outbox=f"{actor_id}/outbox", followers_url=f"{actor_id}/followers",
        following_url=f"{actor_id}/following", shared_inbox=settings.url("/inbox"),
        key_id=f"{actor_id}#main-key", public_key_pem=public_pem, private_key_pem=private_pem,
        languages=[], links=[],
    )
    db.add(actor)
    await db.flush()
    return actor


@dataclass
class AppPair:
    """Two in-process instances sharing one routing transport; unpacks as ``a, b``."""

    a: FediApp
    b: FediApp
    router: RoutingTransport
    extra: list[FediApp] = field(default_factory=list)

    def __iter__(self) -> Iterator[FediApp]:
        return iter((self.a, self.b))


def workers_of(app: FediApp) -> tuple[InboxWorker, DeliveryWorker]:
    """The (inbox, delivery) workers ``drain`` uses for ``app`` (created once per app)."""
    workers: tuple[InboxWorker, DeliveryWorker] | None = getattr(app.state, "_test_workers", None)
    if workers is None:
        workers = (InboxWorker(app.state), DeliveryWorker(app.state))
        app.state._test_workers = workers  # type: ignore[attr-defined]
    return workers


async def drain(*apps: FediApp, max_rounds: int = 50) -> int:
    """Run every app's inbox and delivery workers until none finds due work; return the total.

    Rows scheduled for later (retries with backoff) are not waited for.
    """
    total = 0
    for _ in range(max_rounds):
        done = 0
        for app in apps:
            inbox, delivery = workers_of(app)
            done += await inbox.run_once()
            done += await delivery.run_once()
        total += done
        if done == 0:
            return total
    raise AssertionError(f"queues still busy after {max_rounds} rounds")


def app_settings(root: Path, port: int, **changes: Any) -> Settings:
    """Settings for an in-process instance at ``http://localhost:{port}`` under ``root``."""
    data_dir = root / f"instance-{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        base_url=f"http://localhost:{port}",
        bind=f"127.0.0.1:{port}",
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}",
        secret_key="test-secret-" + secrets.token_hex(8),
        allow_private_network=True,
        default_locale="nl",
        run_workers=False,
    )
    return settings.with_changes(**changes) if changes else settings


async def make_app(root: Path, port: int, router: RoutingTransport, **changes: Any) -> FediApp:
    """A migrated app for ``http://localhost:{port}`` on its own database, routed by host.

    Enter ``app.test_app()`` before use so the federation runtime is built.
    """
    app = create_app(app_settings(root, port, **changes), http_transport=router)
    await app.state.db.upgrade()
    router.add(f"localhost:{port}", app)
    return app


@asynccontextmanager
async def running_pair(root: Path) -> AsyncIterator[AppPair]:
    """Instances at localhost:8001 and localhost:8002 under ``root`` on one routing
    transport, inside ``test_app()`` (the ``two_apps`` fixture)."""
    router = RoutingTransport()
    a = await make_app(root, 8001, router)
    b = await make_app(root, 8002, router)
    async with a.test_app(), b.test_app():
        yield AppPair(a, b, router)
    await router.close()


async def add_remote_actor(
    db: AsyncSession, name: str, inbox: str, *, shared_inbox: str | None = None
) -> Actor:
    """A remote actor row whose (shared) inbox is ``inbox`` (e.g. on a loopback sink)."""
    host = host_of(inbox)
    actor = Actor(
        ap_id=f"http://{host}/users/{name}", type="Person", local=False, username=name,
        domain=host, inbox=inbox, shared_inbox=shared_inbox,
        followers_url=f"http://{host}/users/{name}/followers", languages=[], links=[],
    )
    db.add(actor)
    await db.flush()
    return actor


async def add_follow(db: AsyncSession, follower: Actor, followed: Actor) -> Follow:
    """An accepted follow of ``followed`` by ``follower``."""
    follow = Follow(
        follower_id=follower.id, followed_id=followed.id, accepted=True,
        activity_ap_id=f"{follower.ap_id}/follows/{followed.id}",
    )
    db.add(follow)
    await db.flush()
    return follow


def note_activity(settings: Settings, author: Actor, text: str = "hello") -> dict[str, Any]:
    """A public ``Create{Note}`` by ``author`` addressed to Public and its followers."""
    public = "https://www.w3.org/ns/activitystreams#Public"
    note_id = settings.url(f"/users/{author.username}/notes/{uuid.uuid4().hex}")
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": settings.url(f"/activities/{uuid.uuid4()}"),
        "type": "Create",
        "actor": author.ap_id,
        "to": [public],
        "cc": [author.followers_url],
        "object": {
            "id": note_id, "type": "Note", "attributedTo": author.ap_id, "content": text,
            "to": [public], "cc": [author.followers_url],
        },
    }
