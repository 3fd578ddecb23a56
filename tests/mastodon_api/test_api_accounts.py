"""Account endpoints of the Mastodon API (issue 14), on SQLite and PostgreSQL.

Tribes are Accounts with ``group: true``; following one is joining it through the tribe
service, so an approval tribe answers ``requested`` until an admin lets the person in.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from quart.datastructures import FileStorage
from sqlalchemy import select

from fedi.domain import tribe_members, tribes
from models import Actor
from tests.mastodon_api.oauth_helpers import (
    ACCOUNT_FIELDS,
    MS_TIMESTAMP,
    RELATIONSHIP_FIELDS,
    bearer,
    missing,
    oauth_token,
)
from tests.tribe_helpers import actor_named, make_person, make_remote, make_tribe

pytestmark = pytest.mark.db

AVATAR_PNG = Path(__file__).resolve().parents[2] / "fedi/static/mastodon/avatar.png"


async def test_verify_credentials_has_every_field_and_source(app: Any, client: Any) -> None:
    """The own account: every strict field, ISO timestamps with ms, default images, source."""
    await make_person(app, "anna")
    token = await oauth_token(client, "anna")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    me = await response.get_json()
    assert not missing(me, ACCOUNT_FIELDS)
    assert isinstance(me["id"], str) and me["acct"] == "anna" and me["group"] is False
    assert MS_TIMESTAMP.match(me["created_at"])
    assert me["avatar"].endswith("/static/mastodon/avatar.png")
    assert me["header"].endswith("/static/mastodon/header.png")
    assert me["emojis"] == [] and isinstance(me["fields"], list)
    assert set(me["source"]) >= {"privacy", "sensitive", "language", "note", "fields",
                                 "follow_requests_count"}
    avatar = await client.get("/static/mastodon/avatar.png")
    assert avatar.status_code == 200


async def test_update_credentials_uses_the_profile_service(app: Any, client: Any) -> None:
    """Display name and bio change through the same service as the web's profile form."""
    await make_person(app, "bram")
    token = await oauth_token(client, "bram")
    response = await client.patch("/api/v1/accounts/update_credentials", form={
        "display_name": "Bram B.", "note": "Ik *tuinier* graag.",
    }, headers=bearer(token))
    assert response.status_code == 200, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["display_name"] == "Bram B."
    assert "<em>tuinier</em>" in body["note"]
    assert body["source"]["note"] == "Ik *tuinier* graag."
    async with app.state.db.session() as db:
        assert (await actor_named(db, "bram")).display_name == "Bram B."
    png = AVATAR_PNG.read_bytes()
    with_avatar = await client.patch(
        "/api/v1/accounts/update_credentials", form={"display_name": "Bram B."},
        files={"avatar": FileStorage(io.BytesIO(png), filename="me.png")},
        headers=bearer(token),
    )
    assert with_avatar.status_code == 200, await with_avatar.get_data(as_text=True)
    avatar = (await with_avatar.get_json())["avatar"]
    assert "/media/avatars/" in avatar and not avatar.endswith("/static/mastodon/avatar.png")
    too_long = await client.patch("/api/v1/accounts/update_credentials", json={
        "display_name": "x" * 500,
    }, headers=bearer(token))
    assert too_long.status_code == 422
    assert "error" in await too_long.get_json()


async def test_show_lookup_remote_and_tribe(app: Any, client: Any) -> None:
    """Show and lookup for a person, a remote actor and a tribe (a group, locked when
    joining needs approval)."""
    anna = await make_person(app, "anna")
    remote = await make_remote(app, "zoe", "remote.example")
    await make_tribe(app, "buurt", "anna", join_mode="approval", name="De Buurt")
    shown = await (await client.get(f"/api/v1/accounts/{anna.id}")).get_json()
    assert not missing(shown, ACCOUNT_FIELDS) and shown["username"] == "anna"
    remote_entity = await (await client.get(f"/api/v1/accounts/{remote.id}")).get_json()
    assert remote_entity["acct"] == "zoe@remote.example"
    assert not missing(remote_entity, ACCOUNT_FIELDS)
    tribe = await (await client.get("/api/v1/accounts/lookup",
                                    query_string={"acct": "buurt"})).get_json()
    assert not missing(tribe, ACCOUNT_FIELDS)
    assert tribe["group"] is True and tribe["locked"] is True
    assert tribe["display_name"] == "De Buurt"
    assert tribe["followers_count"] == 1  # its admin
    by_host = await client.get("/api/v1/accounts/lookup",
                               query_string={"acct": "anna@localhost:8000"})
    assert (await by_host.get_json())["id"] == str(anna.id)
    by_remote = await client.get("/api/v1/accounts/lookup",
                                 query_string={"acct": "@zoe@remote.example"})
    assert (await by_remote.get_json())["id"] == str(remote.id)
    unknown = await client.get("/api/v1/accounts/lookup", query_string={"acct": "niemand"})
    assert unknown.status_code == 404
    assert await unknown.get_json() == {"error": "Record not found"}
    assert (await client.get("/api/v1/accounts/999999")).status_code == 404


async def test_follow_open_and_approval_tribes(app: Any, client: Any) -> None:
    """Following an open tribe joins it; an approval tribe answers ``requested`` until an
    admin approves (the tribe service), then ``following``; unfollowing leaves."""
    await make_person(app, "anna")
    await make_person(app, "cees")
    await make_tribe(app, "plein", "anna")
    await make_tribe(app, "tuin", "anna", join_mode="approval")
    token = await oauth_token(client, "cees")
    async with app.state.db.session() as db:
        plein = await actor_named(db, "plein")
        tuin = await actor_named(db, "tuin")
    joined = await (await client.post(f"/api/v1/accounts/{plein.id}/follow",
                                      headers=bearer(token))).get_json()
    assert not missing(joined, RELATIONSHIP_FIELDS)
    assert joined["following"] is True and joined["requested"] is False
    asked = await (await client.post(f"/api/v1/accounts/{tuin.id}/follow",
                                     headers=bearer(token))).get_json()
    assert asked["following"] is False and asked["requested"] is True
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "tuin")
        admin = await actor_named(db, "anna")
        cees = await actor_named(db, "cees")
        await tribe_members.approve_request(db, app.state.settings, tribe, admin, cees)
    rel = await (await client.get("/api/v1/accounts/relationships",
                                  query_string=[("id[]", str(tuin.id)), ("id[]", str(plein.id)),
                                                ("id[]", "424242")],
                                  headers=bearer(token))).get_json()
    assert [r["id"] for r in rel] == [str(tuin.id), str(plein.id)]
    assert rel[0]["following"] is True and rel[0]["requested"] is False
    members = await client.get(f"/api/v1/accounts/{plein.id}/followers")
    assert {a["username"] for a in await members.get_json()} == {"anna", "cees"}
    left = await (await client.post(f"/api/v1/accounts/{plein.id}/unfollow",
                                    headers=bearer(token))).get_json()
    assert left["following"] is False
    members = await client.get(f"/api/v1/accounts/{plein.id}/followers")
    assert {a["username"] for a in await members.get_json()} == {"anna"}


async def test_follow_people_requests_and_pagination(app: Any, client: Any) -> None:
    """A locked person gets follow requests to authorize or reject; followers paginate
    with ``Link`` headers (max_id/min_id)."""
    dora = await make_person(app, "dora")
    async with app.state.db.session() as db:
        row = await db.get(Actor, dora.id)
        assert row is not None
        row.manually_approves_followers = True
    dora_token = await oauth_token(client, "dora")
    tokens = {}
    for name in ("emma", "finn", "gijs"):
        await make_person(app, name)
        tokens[name] = await oauth_token(client, name)
        rel = await (await client.post(f"/api/v1/accounts/{dora.id}/follow",
                                       headers=bearer(tokens[name]))).get_json()
        assert rel["requested"] is True and rel["following"] is False
    me = await (await client.get("/api/v1/accounts/verify_credentials",
                                 headers=bearer(dora_token))).get_json()
    assert me["locked"] is True and me["source"]["follow_requests_count"] == 3
    waiting = await (await client.get("/api/v1/follow_requests",
                                      headers=bearer(dora_token))).get_json()
    assert {a["username"] for a in waiting} == {"emma", "finn", "gijs"}
    ids = {a["username"]: a["id"] for a in waiting}
    for name in ("emma", "finn"):
        answer = await client.post(f"/api/v1/follow_requests/{ids[name]}/authorize",
                                   headers=bearer(dora_token))
        assert (await answer.get_json())["followed_by"] is True
    rejected = await client.post(f"/api/v1/follow_requests/{ids['gijs']}/reject",
                                 headers=bearer(dora_token))
    body = await rejected.get_json()
    assert body["followed_by"] is False and body["requested_by"] is False
    again = await client.post(f"/api/v1/follow_requests/{ids['gijs']}/reject",
                              headers=bearer(dora_token))
    assert again.status_code == 404
    page1 = await client.get(f"/api/v1/accounts/{dora.id}/followers",
                             query_string={"limit": "1"})
    first = await page1.get_json()
    assert [a["username"] for a in first] == ["finn"]  # newest first
    link = page1.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link
    next_url = re.search(r"<([^>]+)>; rel=\"next\"", link)
    assert next_url is not None
    path = next_url.group(1).replace("http://localhost:8000", "")
    second = await (await client.get(path)).get_json()
    assert [a["username"] for a in second] == ["emma"]
    prev_url = re.search(r"<([^>]+)>; rel=\"prev\"", link)
    assert prev_url is not None
    newer = await (await client.get(prev_url.group(1).replace("http://localhost:8000", ""))
                   ).get_json()
    assert newer == []
    following = await (await client.get(
        f"/api/v1/accounts/{ids['emma']}/following")).get_json()
    assert [a["username"] for a in following] == ["dora"]
    unfollow = await (await client.post(f"/api/v1/accounts/{dora.id}/unfollow",
                                        headers=bearer(tokens["emma"]))).get_json()
    assert unfollow["following"] is False
    myself = await client.post(f"/api/v1/accounts/{dora.id}/follow", headers=bearer(dora_token))
    assert myself.status_code == 403


async def test_search_familiar_followers_and_profile_lists(app: Any, client: Any) -> None:
    """Account search by name prefix (local first) and by handle; familiar followers; the
    empty lists apps read on profiles."""
    hanna = await make_person(app, "hanna")
    await make_person(app, "hans")
    await make_person(app, "ivo")
    await make_remote(app, "hanneke", "remote.example")
    token = await oauth_token(client, "ivo")
    found = await (await client.get("/api/v1/accounts/search", query_string={"q": "han"},
                                    headers=bearer(token))).get_json()
    assert [a["acct"] for a in found] == ["hanna", "hans", "hanneke@remote.example"]
    assert not missing(found[0], ACCOUNT_FIELDS)
    by_handle = await (await client.get(
        "/api/v1/accounts/search", query_string={"q": "@hanneke@remote.example"},
        headers=bearer(token))).get_json()
    assert [a["username"] for a in by_handle] == ["hanneke"]
    wildcard = await (await client.get("/api/v1/accounts/search", query_string={"q": "%"},
                                       headers=bearer(token))).get_json()
    assert wildcard == []
    # ivo follows hans, hans follows hanna: hans is a familiar follower of hanna for ivo.
    hans_token = await oauth_token(client, "hans")
    async with app.state.db.session() as db:
        hans = await actor_named(db, "hans")
    await client.post(f"/api/v1/accounts/{hans.id}/follow", headers=bearer(token))
    await client.post(f"/api/v1/accounts/{hanna.id}/follow", headers=bearer(hans_token))
    familiar = await (await client.get(
        "/api/v1/accounts/familiar_followers", query_string={"id[]": str(hanna.id)},
        headers=bearer(token))).get_json()
    assert familiar == [{"id": str(hanna.id), "accounts": familiar[0]["accounts"]}]
    assert [a["username"] for a in familiar[0]["accounts"]] == ["hans"]
    for suffix in ("featured_tags", "lists", "identity_proofs"):
        response = await client.get(f"/api/v1/accounts/{hanna.id}/{suffix}")
        assert response.status_code == 200 and await response.get_json() == []


async def test_hidden_people_are_not_shown(app: Any, client: Any) -> None:
    """A person waiting for approval or disabled is shown nowhere, as on the website."""
    from models import User

    await make_person(app, "ivo")
    waiting = await make_person(app, "joost")
    async with app.state.db.session() as db:
        user = (await db.scalars(select(User).where(User.actor_id == waiting.id))).one()
        user.approved = False
    token = await oauth_token(client, "ivo")
    assert (await client.get(f"/api/v1/accounts/{waiting.id}")).status_code == 404
    lookup = await client.get("/api/v1/accounts/lookup", query_string={"acct": "joost"})
    assert lookup.status_code == 404
    found = await (await client.get("/api/v1/accounts/search", query_string={"q": "joo"},
                                    headers=bearer(token))).get_json()
    assert found == []
