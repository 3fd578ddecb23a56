"""The instance's Application actor: served as JSON, fetchable by another instance, unique."""

from __future__ import annotations

from harness import AppPair, drain
from sqlalchemy import func, select

from fedi.federation.instance_actor import ensure_instance_actor
from fedi.federation.runtime import get_federation
from models import Actor


async def test_instance_actor_document(two_apps: AppPair) -> None:
    a, _b = two_apps
    client = a.test_client()
    resp = await client.get("/actor", headers={"Accept": "application/activity+json"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/activity+json; charset=utf-8"
    doc = await resp.get_json()
    assert doc["id"] == "http://localhost:8001/actor"
    assert doc["type"] == "Application"
    assert doc["preferredUsername"] == "localhost"
    assert doc["inbox"] == "http://localhost:8001/actor/inbox"
    assert doc["endpoints"]["sharedInbox"] == "http://localhost:8001/inbox"
    assert doc["publicKey"]["id"] == "http://localhost:8001/actor#main-key"
    assert doc["publicKey"]["owner"] == doc["id"]
    assert "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    html = await client.get("/actor", headers={"Accept": "text/html"})
    assert html.status_code == 302


async def test_other_instance_fetches_it_signed(two_apps: AppPair) -> None:
    a, b = two_apps
    fetched = await get_federation(b.state).fetcher.fetch_actor("http://localhost:8001/actor")
    assert fetched["id"] == "http://localhost:8001/actor"
    assert get_federation(a.state).instance_key.key_id == "http://localhost:8001/actor#main-key"
    assert await drain(a, b) == 0


async def test_ensure_is_idempotent(two_apps: AppPair) -> None:
    a, _b = two_apps
    async with a.state.db.session() as db:
        first = await ensure_instance_actor(db, a.state.settings)
        second = await ensure_instance_actor(db, a.state.settings)
        count = await db.scalar(
            select(func.count()).select_from(Actor).where(Actor.type == "Application")
        )
    assert first.id == second.id and count == 1
