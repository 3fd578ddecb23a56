"""The archive download: everything a person authored is in it, nobody else's content is.

Bob (member of the tribe ``plein``) writes a public, a followers-only and a direct note
and a reply, likes a note of ann's, uploads an avatar, follows ann and offers hours to
ann's initiative, and starts an initiative of his own with a picture. His archive holds
every object of his in the database (notes and the initiative), valid JSON, the follow CSV
in Mastodon's shape, the bytes of his uploads and an index whose links stay inside the
ZIP; ann's words and picture are not in it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from profile_helpers import png_bytes
from sqlalchemy import select

from fedi.domain import contributions, follows, initiatives, notes, profiles, reactions
from fedi.domain.initiative_access import get_initiative
from fedi.http.web.your_data import EXPORTS_PER_ACCOUNT
from fedi.state import FediApp
from models import ApObject, Contribution, Initiative, OutboxActivity
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named, csrf_of, login, make_person

ANN_WORDS = "Ann's private garden plans"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


async def _bobs_world(app: FediApp) -> dict[str, Any]:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    task = await make_task(app, initiative)
    own = await make_initiative(app, world, creator="bob", name="Bankjes")
    picture = png_bytes(4, 4)
    state = app.state
    avatar = png_bytes(3, 3)
    async with state.db.session() as db:
        ann = await actor_named(db, "ann")
        bob = await actor_named(db, "bob")
        await profiles.set_avatar(db, state.settings, ann, png_bytes(5, 5))
        await profiles.set_avatar(db, state.settings, bob, avatar)
        ann_note = await notes.create_note(db, state, ann, ANN_WORDS)
        await notes.create_note(db, state, bob, "Bankjes op het plein!")
        await notes.create_note(db, state, bob, "Alleen voor volgers.", "followers")
        await notes.create_note(db, state, bob, "Geheim voor ann.", "direct", recipients=[ann])
        await notes.create_note(db, state, bob, "Goed plan!", in_reply_to=ann_note.ap_id)
        await reactions.like(db, state, bob, ann_note.ap_id)
        await follows.follow(db, state, bob, ann)
        item = await get_initiative(db, initiative.id)
        offer = await contributions.offer(
            db, state.settings, item, bob, task.id, hours=3, motivation="Ik help graag."
        )
        image_path = await initiatives.set_image(
            db, state.settings, await get_initiative(db, own.id), bob, picture
        )
        avatar_path = bob.avatar_path
        ann_avatar = ann.avatar_path
    # Uploads are stored re-encoded (fedi/domain/image_processing.py): the archive holds
    # the stored files.
    uploads = state.settings.uploads_dir
    avatar = (uploads / avatar_path).read_bytes()
    picture = (uploads / image_path).read_bytes()
    return {"ann_note": ann_note.ap_id, "avatar": avatar, "avatar_path": avatar_path,
            "ann_avatar": ann_avatar, "offer": offer.ap_id, "initiative": initiative.ap_id,
            "picture": picture, "image_path": image_path}


async def _download(app: FediApp) -> zipfile.ZipFile:
    client = app.test_client()
    await login(client, "bob")
    token = await csrf_of(client, "/settings/export")
    response = await client.post("/settings/export", form={"csrf_token": token})
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="fedi-export-bob-')
    data = await response.get_data()
    assert int(response.headers["Content-Length"]) == len(data)
    return zipfile.ZipFile(io.BytesIO(data))


async def test_the_archive_holds_everything_bob_authored(app: FediApp) -> None:
    made = await _bobs_world(app)
    archive = await _download(app)
    names = set(archive.namelist())
    assert {"actor.json", "outbox.json", "likes.json", "followers.json", "tribes.json",
            "initiatives.json", "following_accounts.csv", "index.html"} <= names
    docs = {name: json.loads(archive.read(name)) for name in names if name.endswith(".json")}

    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        authored = set((await db.scalars(
            select(ApObject.ap_id).where(ApObject.attributed_to_id == bob.id)
        )).all())
        activities = set((await db.scalars(
            select(OutboxActivity.ap_id).where(OutboxActivity.actor_id == bob.id)
        )).all())
        contributions_of_bob = set((await db.scalars(
            select(Contribution.ap_id).where(Contribution.actor_id == bob.id)
        )).all())
        bob_id = bob.ap_id
        started_by_bob = set((await db.scalars(
            select(Initiative.ap_id).where(Initiative.creator_id == bob.id)
        )).all())
    assert len(authored) == 4 and len(started_by_bob) == 1

    assert docs["actor.json"]["id"] == bob_id
    assert docs["actor.json"]["type"] == "Person"
    outbox = docs["outbox.json"]
    assert outbox["type"] == "OrderedCollection"
    assert outbox["totalItems"] == len(outbox["orderedItems"])
    assert all(item["actor"] == bob_id for item in outbox["orderedItems"])
    assert activities <= {item["id"] for item in outbox["orderedItems"]}
    created = {
        item["object"]["id"] for item in outbox["orderedItems"]
        if item["type"] == "Create" and isinstance(item["object"], dict)
    }
    assert created == authored | started_by_bob
    visibilities = {
        item["object"]["content"]: item["object"] for item in outbox["orderedItems"]
        if item["type"] == "Create"
    }
    assert len(visibilities) == 5
    published = [item.get("published") for item in outbox["orderedItems"]]
    assert all(published)
    assert docs["likes.json"]["orderedItems"] == [made["ann_note"]]

    following = list(csv.reader(io.StringIO(archive.read("following_accounts.csv").decode())))
    assert following[0] == ["Account address", "Show boosts", "Notify on new posts", "Languages"]
    assert [row[0] for row in following[1:]] == [f"ann@{app.state.settings.host}"]

    assert [t["slug"] for t in docs["tribes.json"]["tribes"]] == ["plein"]
    offers = docs["initiatives.json"]["contributions"]
    assert {o["id"] for o in offers} == contributions_of_bob == {made["offer"]}
    assert offers[0]["initiative"] == made["initiative"] and offers[0]["hours"] == 3

    assert archive.read(f"media/{made['avatar_path']}") == made["avatar"]
    started = docs["initiatives.json"]["created"]
    assert [i["name"] for i in started] == ["Bankjes"]
    assert started[0]["image"] == f"media/{made['image_path']}"
    assert archive.read(started[0]["image"]) == made["picture"]
    assert f"media/{made['ann_avatar']}" not in names

    # Nobody else's content: ann's words appear nowhere (her note is only referred to by
    # id, as the object of bob's like and reply).
    for name in names:
        assert ANN_WORDS.encode() not in archive.read(name), name

    index = archive.read("index.html").decode()
    parser = _Links()
    parser.feed(index)
    local_links = [link for link in parser.links if not urlsplit(link).scheme]
    assert f"media/{made['avatar_path']}" in local_links
    assert f"media/{made['image_path']}" in local_links
    assert "outbox.json" in local_links
    for link in local_links:
        assert link in names, link
    assert "Bankjes op het plein!" in index


async def test_login_required(app: FediApp) -> None:
    client = app.test_client()
    page = await client.get("/settings/export")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    download = await client.post("/settings/export", form={})
    assert download.status_code in (302, 400, 403)
    assert download.mimetype != "application/zip"
    page = await client.get("/settings/import")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


async def test_a_few_archives_an_hour(app: FediApp) -> None:
    await make_person(app, "dirk")
    client = app.test_client()
    await login(client, "dirk")
    token = await csrf_of(client, "/settings/export")
    statuses = [
        (await client.post("/settings/export", form={"csrf_token": token})).status_code
        for _ in range(EXPORTS_PER_ACCOUNT.count + 1)
    ]
    assert statuses == [200] * EXPORTS_PER_ACCOUNT.count + [429]
