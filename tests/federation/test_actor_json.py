"""The Person actor document and content negotiation on /users/<name> and /@<name>."""

from __future__ import annotations

from typing import Any

import orjson
from profile_helpers import get_actor, make_person, png_bytes

from activitypub.keys import load_public_key
from fedi.domain import profiles
from models import Actor

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
BASE = "http://localhost:8000"


async def fetch_actor(client: Any, path: str, accept: str = AP) -> dict[str, Any]:
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/activity+json; charset=utf-8"
    assert "Accept" in response.headers["Vary"]
    return dict(orjson.loads(await response.get_data()))


async def test_person_document_has_every_field(app: Any, client: Any) -> None:
    await make_person(
        app, "fatima", display_name="Fatima el Amrani", bio="Café aan het **Plein**.",
        location="Den Haag", languages=["nl", "ar"],
        links=[("Café", "https://cafe.example/menu")], talents="Horeca, terrassen",
    )
    async with app.state.db.session() as db:
        actor = await db.get(Actor, (await get_actor(app, "fatima")).id)
        assert actor is not None
        avatar = await profiles.set_avatar(db, app.state.settings, actor, png_bytes())

    doc = await fetch_actor(client, "/users/fatima")
    actor_id = f"{BASE}/users/fatima"
    context = doc["@context"]
    assert context[0] == "https://www.w3.org/ns/activitystreams"
    assert context[1] == "https://w3id.org/security/v1"
    terms: dict[str, Any] = {}
    for entry in context[2:]:
        terms.update(entry)
    assert terms["talents"] == "pu:talents" and terms["pu"] == f"{BASE}/ns#"
    assert terms["Hashtag"] == "as:Hashtag" and terms["PropertyValue"] == "schema:PropertyValue"
    assert doc["id"] == actor_id
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "fatima"
    assert doc["name"] == "Fatima el Amrani"
    assert doc["summary"] == "<p>Café aan het <strong>Plein</strong>.</p>"
    assert doc["url"] == f"{BASE}/@fatima"
    assert doc["inbox"] == f"{actor_id}/inbox"
    assert doc["outbox"] == f"{actor_id}/outbox"
    assert doc["followers"] == f"{actor_id}/followers"
    assert doc["following"] == f"{actor_id}/following"
    # uploadMedia: ActivityPub C2S media upload (issue 14, fedi.http.ap.outbox_media).
    assert doc["endpoints"] == {
        "sharedInbox": f"{BASE}/inbox", "uploadMedia": f"{actor_id}/uploadMedia",
    }
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["discoverable"] is True
    assert doc["published"].endswith("Z")
    key = doc["publicKey"]
    assert key["id"] == f"{actor_id}#main-key" and key["owner"] == actor_id
    load_public_key(key["publicKeyPem"])  # a real RSA key
    assert doc["icon"] == {
        "type": "Image", "mediaType": "image/png", "url": f"{BASE}/media/{avatar}",
    }
    assert doc["attachment"] == [
        {
            "type": "PropertyValue",
            "name": "Café",
            "value": '<a href="https://cafe.example/menu" rel="me nofollow noopener" '
            'target="_blank">cafe.example/menu</a>',
        }
    ]
    assert doc["tag"] == [
        {"type": "Hashtag", "name": "#horeca", "href": f"{BASE}/people?talent=horeca"},
        {"type": "Hashtag", "name": "#terrassen", "href": f"{BASE}/people?talent=terrassen"},
    ]
    assert doc["talents"] == ["horeca", "terrassen"]
    assert doc["location"] == {"type": "Place", "name": "Den Haag"}
    assert doc["pu:languages"] == ["nl", "ar"]
    assert "privateKeyPem" not in orjson.dumps(doc).decode()

    # The icon URL really serves the image.
    image = await client.get(f"/media/{avatar}")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"


async def test_negotiation(app: Any, client: Any) -> None:
    await make_person(app, "henk")
    # Both ActivityPub media types, on the actor id and on the profile URL (as Mastodon does).
    for path in ("/users/henk", "/@henk"):
        for accept in (AP, LD, f"{AP}, {LD}", "application/ld+json"):
            doc = await fetch_actor(client, path, accept)
            assert doc["id"] == f"{BASE}/users/henk" and "icon" not in doc
            assert "location" not in doc and "attachment" not in doc
    # Browsers (or no Accept at all) are sent to the profile page.
    browsers = ("text/html,application/xhtml+xml,*/*;q=0.8", "", "*/*", f"text/html, {AP};q=0.5")
    for accept in browsers:
        response = await client.get("/users/henk", headers={"Accept": accept} if accept else {})
        assert response.status_code == 302, accept
        assert response.headers["Location"] == "/@henk"
        assert response.headers["Vary"] == "Accept"
    page = await client.get("/@henk", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"


async def test_unknown_or_hidden_people_are_404_json(app: Any, client: Any) -> None:
    await make_person(app, "wachtend", approved=False)
    await make_person(app, "geblokkeerd", disabled=True)
    for accept in (AP, LD):
        for path in ("/users/niemand", "/users/wachtend", "/users/geblokkeerd", "/@wachtend"):
            response = await client.get(path, headers={"Accept": accept})
            assert response.status_code == 404, path
            assert response.mimetype == "application/json"
    browser = await client.get("/users/wachtend", headers={"Accept": "text/html"})
    assert browser.status_code == 404
