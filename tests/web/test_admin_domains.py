"""Admins block servers in the browser; the inbox then refuses them."""

from __future__ import annotations

from typing import Any

import orjson
from account_helpers import login, make_user, post_form, text

from fedi.state import FediApp


def follow_from(host: str) -> bytes:
    """A Follow as another server would POST it (the block answers before the signature)."""
    return orjson.dumps({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"https://{host}/follows/1",
        "type": "Follow",
        "actor": f"https://{host}/users/troll",
        "object": "http://localhost:8000/users/beheer",
    })


async def test_admin_blocks_and_unblocks_a_server(app: FediApp, client: Any) -> None:
    await make_user(app, "beheer", is_admin=True)
    await login(client, "beheer")
    response = await post_form(client, "/admin/domains", "/admin/domains",
                               {"domain": "troll.example", "reason": "abuse"})
    assert response.status_code == 302
    page = await text(await client.get("/admin/domains"))
    assert "troll.example" in page and "abuse" in page

    refused = await client.post("/inbox", data=follow_from("social.troll.example"),
                                headers={"Content-Type": "application/activity+json"})
    assert refused.status_code == 403

    response = await post_form(client, "/admin/domains", "/admin/domains/unblock",
                               {"domain": "troll.example"})
    assert response.status_code == 302
    allowed = await client.post("/inbox", data=follow_from("social.troll.example"),
                                headers={"Content-Type": "application/activity+json"})
    # No longer blocked: now it is the missing signature that refuses it.
    assert allowed.status_code == 401


async def test_bad_domain_is_explained_and_only_admins_may_block(
    app: FediApp, client: Any
) -> None:
    await make_user(app, "beheer", is_admin=True)
    await make_user(app, "resident")
    await login(client, "beheer")
    response = await post_form(client, "/admin/domains", "/admin/domains",
                               {"domain": "not a domain"})
    assert response.status_code == 400
    assert "domeinnaam" in await text(response)

    other = app.test_client()
    await login(other, "resident")
    assert (await other.get("/admin/domains")).status_code == 403
