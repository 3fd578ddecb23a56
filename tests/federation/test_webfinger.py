"""Discovery: WebFinger, host-meta and NodeInfo, in process and against a real server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from profile_helpers import make_person

from fedi import __version__
from models import ApObject, User, utcnow

BASE = "http://localhost:8000"
JRD = "application/jrd+json"


async def webfinger(client: Any, resource: str | None) -> Any:
    query = {"resource": resource} if resource is not None else {}
    return await client.get("/.well-known/webfinger", query_string=query)


async def test_webfinger_person(app: Any, client: Any) -> None:
    await make_person(app, "alice", display_name="Alice")
    expected = {
        "subject": "acct:alice@localhost:8000",
        "aliases": [f"{BASE}/users/alice", f"{BASE}/@alice"],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": f"{BASE}/users/alice"},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": f"{BASE}/@alice",
            },
        ],
    }
    for resource in (
        "acct:alice@localhost:8000",
        "acct:Alice@LOCALHOST:8000",
        "alice@localhost:8000",
        f"{BASE}/users/alice",
        f"{BASE}/@alice",
    ):
        response = await webfinger(client, resource)
        assert response.status_code == 200, resource
        assert response.headers["Content-Type"] == JRD
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert orjson.loads(await response.get_data()) == expected, resource


async def test_webfinger_refusals(app: Any, client: Any) -> None:
    await make_person(app, "alice")
    await make_person(app, "wachtend", approved=False)
    assert (await webfinger(client, None)).status_code == 400
    assert (await webfinger(client, "")).status_code == 400
    assert (await webfinger(client, "geen handle")).status_code == 400
    for resource in (
        "acct:alice@localhost",  # the port is part of the host
        "acct:alice@localhost:8001",
        "acct:alice@other.example",
        "acct:niemand@localhost:8000",
        "acct:wachtend@localhost:8000",
        "https://other.example/users/alice",
        f"{BASE}/users/alice/outbox",
        f"{BASE}/tribes/alice",
    ):
        response = await webfinger(client, resource)
        assert response.status_code == 404, resource
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_webfinger_instance_actor(app: Any, client: Any) -> None:
    for resource, subject in (
        ("acct:localhost@localhost:8000", "acct:localhost@localhost:8000"),
        (f"{BASE}/", f"{BASE}/"),
        (BASE, f"{BASE}/"),
        (f"{BASE}/actor", f"{BASE}/"),
    ):
        response = await webfinger(client, resource)
        assert response.status_code == 200, resource
        jrd = orjson.loads(await response.get_data())
        assert jrd["subject"] == subject
        selfs = [link for link in jrd["links"] if link["rel"] == "self"]
        assert selfs == [
            {"rel": "self", "type": "application/activity+json", "href": f"{BASE}/actor"}
        ]


async def test_host_meta(app: Any, client: Any) -> None:
    template = f"{BASE}/.well-known/webfinger?resource={{uri}}"
    xml = await client.get("/.well-known/host-meta")
    assert xml.status_code == 200
    assert xml.headers["Content-Type"].startswith("application/xrd+xml")
    assert xml.headers["Access-Control-Allow-Origin"] == "*"
    body = await xml.get_data(as_text=True)
    assert '<Link rel="lrdd" template="' + template + '"/>' in body
    as_json = await client.get("/.well-known/host-meta.json")
    assert orjson.loads(await as_json.get_data()) == {
        "links": [{"rel": "lrdd", "template": template}]
    }


async def test_nodeinfo(app: Any, client: Any) -> None:
    await make_person(app, "alice")
    await make_person(app, "bob")
    await make_person(app, "wachtend", approved=False)
    async with app.state.db.session() as db:
        from sqlalchemy import select

        users = {u.actor.username: u for u in (await db.scalars(select(User))).all()}
        users["alice"].last_login_at = utcnow() - timedelta(days=3)
        users["bob"].last_login_at = utcnow() - timedelta(days=90)
        db.add(
            ApObject(
                ap_id=f"{BASE}/notes/1", type="Note", local=True, payload={},
                attributed_to_id=users["alice"].actor_id,
            )
        )
        db.add(ApObject(ap_id="https://else.example/n/1", type="Note", local=False, payload={}))

    links = await client.get("/.well-known/nodeinfo")
    assert links.headers["Access-Control-Allow-Origin"] == "*"
    hrefs = {link["rel"]: link["href"] for link in orjson.loads(await links.get_data())["links"]}
    assert hrefs["http://nodeinfo.diaspora.software/ns/schema/2.1"] == f"{BASE}/nodeinfo/2.1"
    assert hrefs["http://nodeinfo.diaspora.software/ns/schema/2.0"] == f"{BASE}/nodeinfo/2.0"
    assert hrefs["https://www.w3.org/ns/activitystreams#Application"] == f"{BASE}/actor"

    for version in ("2.0", "2.1"):
        response = await client.get(f"/nodeinfo/{version}")
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Content-Type"].startswith("application/json")
        info = orjson.loads(await response.get_data())
        assert info["version"] == version
        assert info["software"]["name"] == "fedi-partup"
        assert info["software"]["version"] == __version__
        assert info["protocols"] == ["activitypub"]
        assert info["openRegistrations"] is True
        assert info["usage"] == {
            "users": {"total": 2, "activeMonth": 1, "activeHalfyear": 2},
            "localPosts": 1,
        }
        assert info["metadata"]["nodeName"] == "Part-up"


async def test_nodeinfo_invite_only_is_closed(app: Any, client: Any) -> None:
    from fedi.domain.instance_settings import set_registration_mode

    async with app.state.db.session() as db:
        await set_registration_mode(db, "invite")
    info = orjson.loads(await (await client.get("/nodeinfo/2.1")).get_data())
    assert info["openRegistrations"] is False
    assert info["metadata"]["registrationMode"] == "invite"


@pytest.mark.live
def test_live_webfinger_then_actor(live_server_factory: Any) -> None:
    """A real server: WebFinger with the port in the handle, then the signed-key actor."""
    server = live_server_factory()
    server.cli("user", "create", "alice", "--email", "a@example.org", "--password",
               "Vlinder-tulp-2024!")
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        found = http.get(
            "/.well-known/webfinger", params={"resource": f"acct:alice@{server.host}"}
        )
        assert found.status_code == 200, found.text
        jrd = found.json()
        actor_id = next(link["href"] for link in jrd["links"] if link["rel"] == "self")
        assert actor_id == f"{server.base_url}/users/alice"
        response = http.get(actor_id, headers={"Accept": "application/activity+json"})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/activity+json; charset=utf-8"
        person = response.json()
        assert person["type"] == "Person" and person["id"] == actor_id
        assert person["preferredUsername"] == "alice"
        assert person["publicKey"]["owner"] == actor_id
        assert person["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
        browser = http.get(actor_id, headers={"Accept": "text/html"})
        assert browser.status_code == 302 and browser.headers["Location"] == "/@alice"
