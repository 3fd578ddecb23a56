"""Media over C2S: the ``uploadMedia`` endpoint advertised in the actor, the uploaded
``Image`` used as a note's attachment, a profile's icon, a tribe's and an initiative's
image, and the refusals (somebody else's endpoint or upload, no token, no image)."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from c2s_helpers import AP, PUBLIC, act, get_json, refused, token_of
from quart.datastructures import FileStorage
from sqlalchemy import select

from fedi.domain import tribes
from models import ApObject, Initiative, MediaAttachment
from tests.initiative_helpers import make_initiative, make_world
from tests.profile_helpers import png_bytes
from tests.tribe_helpers import actor_named

pytestmark = pytest.mark.db


async def _upload(
    app: Any, username: str, token: str | None, data: bytes, name: str = "Het plein"
) -> tuple[int, Any, Any]:
    headers = {"Accept": AP}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    resp = await app.test_client().post(
        f"/users/{username}/uploadMedia", headers=headers,
        files={"file": FileStorage(io.BytesIO(data), filename="p.png", content_type="image/png")},
        form={"object": orjson.dumps({"type": "Image", "name": name}).decode()},
    )
    return resp.status_code, await resp.get_json(), resp.headers


async def test_upload_and_use_media(app: Any) -> None:
    world = await make_world(app)
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    # The endpoint is advertised where C2S clients look for it.
    status, person, _ = await get_json(app, world.ann.ap_id)
    assert status == 200
    endpoint = person["endpoints"]["uploadMedia"]
    assert endpoint.endswith("/users/ann/uploadMedia")

    status, image, headers = await _upload(app, "ann", ann, png_bytes(20, 10))
    assert status == 201, image
    assert headers["Location"] == image["id"] and image["type"] == "Image"
    assert image["mediaType"] == "image/png" and image["name"] == "Het plein"
    # It dereferences for its owner, not for others before it is posted.
    assert (await get_json(app, image["id"], ann))[0] == 200
    assert (await get_json(app, image["id"]))[0] == 404
    assert (await get_json(app, image["id"], bob))[0] == 404
    file_path = image["url"].removeprefix(app.state.settings.base_url)
    assert (await app.test_client().get(file_path)).status_code == 200

    # Refusals: no token, somebody else's endpoint, not an image.
    assert (await _upload(app, "ann", None, png_bytes()))[0] == 401
    assert (await _upload(app, "ann", bob, png_bytes()))[0] == 403
    assert (await _upload(app, "ann", ann, b"<svg></svg>"))[0] == 400

    # Bob may not post ann's upload.
    await refused(app, "bob", bob, {"type": "Note", "content": "Van mij",
                                    "to": [PUBLIC], "attachment": [{"id": image["id"]}]}, 403)
    created = await act(app, "ann", ann, {"type": "Note", "content": "Het plein vandaag",
                                          "to": [PUBLIC], "attachment": [
                                              {"type": "Image", "id": image["id"]}]})
    note_id = created["object"]["id"] if isinstance(created["object"], dict) else created["object"]
    async with app.state.db.session() as db:
        note = await db.scalar(select(ApObject).where(ApObject.ap_id == note_id))
        assert note is not None
        attached = (note.payload or {}).get("attachment")
        assert attached and attached[0]["url"] == image["url"]
        row = await db.scalar(select(MediaAttachment).where(MediaAttachment.path.isnot(None)))
        assert row is not None and row.object_ap_id == note_id
    # Posted, the Image is public; it cannot be attached a second time.
    assert (await get_json(app, image["id"]))[0] == 200
    await refused(app, "ann", ann, {"type": "Note", "content": "Nog eens", "to": [PUBLIC],
                                    "attachment": [image["id"]]}, 400)

    # A profile's icon, a tribe's icon and an initiative's image, from new uploads.
    for target in ("person", "group", "page"):
        status, upload, _ = await _upload(app, "ann", ann, png_bytes(8, 8), name=target)
        assert status == 201
        if target == "person":
            await act(app, "ann", ann, {"type": "Update", "object": {
                "type": "Person", "id": world.ann.ap_id, "icon": upload["id"]}})
        elif target == "group":
            await act(app, "ann", ann, {"type": "Update", "object": {
                "type": "Group", "id": world.tribe.actor.ap_id,
                "icon": {"type": "Image", "url": upload["url"]}}})
        else:
            initiative = await make_initiative(app, world)
            await act(app, "ann", ann, {"type": "Update", "object": {
                "type": "Page", "id": initiative.ap_id, "image": upload["id"]}})
    async with app.state.db.session() as db:
        assert (await actor_named(db, "ann")).avatar_path
        assert (await tribes.get_tribe(db, "plein")).image_path
        page = await db.scalar(select(Initiative).where(Initiative.ap_id == initiative.ap_id))
        assert page is not None and page.image_path
    # bob, no admin of the tribe, may not change its picture even with his own upload.
    status, own, _ = await _upload(app, "bob", bob, png_bytes(4, 4))
    assert status == 201
    await refused(app, "bob", bob, {"type": "Update", "object": {
        "type": "Group", "id": world.tribe.actor.ap_id, "icon": own["id"]}}, 403)
