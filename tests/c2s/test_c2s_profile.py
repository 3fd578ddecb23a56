"""Editing one's own profile over C2S: ``Update{Person}`` through the profile service, and
what it federates (``Update{Person}`` to the followers)."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import act, get_json, refused, token_of
from sqlalchemy import select

from fedi.domain.talents import ensure_talents_loaded
from models import OutboxActivity
from tests.tribe_helpers import actor_named, make_person, make_remote

pytestmark = pytest.mark.db


async def test_update_person_edits_profile_and_federates(app: Any) -> None:
    ann = await make_person(app, "ann")
    await make_person(app, "bob")
    ann_token, bob_token = await token_of(app, "ann"), await token_of(app, "bob")
    done = await act(app, "ann", ann_token, {"type": "Update", "object": {
        "type": "Person", "id": ann.ap_id, "name": "Ann de Vries",
        "source": {"content": "Ik werk aan **groen**.", "mediaType": "text/markdown"},
        "location": {"type": "Place", "name": "Utrecht"},
        "pu:languages": ["nl", "en"],
        "tag": [{"type": "Hashtag", "name": "#tuinieren"}],
        "attachment": [{"type": "PropertyValue", "name": "Site",
                        "value": '<a href="https://ann.example/" rel="me">ann.example</a>'}],
    }})
    # What the web form's save federates: Update{Person} of ann to her followers.
    assert done["type"] == "Update"
    assert done["actor"] == ann.ap_id
    assert ann.ap_id in (done["object"], done["object"].get("id") if isinstance(
        done["object"], dict) else None)
    assert f"{ann.ap_id}/followers" in done.get("to", []) + done.get("cc", [])
    async with app.state.db.session() as db:
        row = await db.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == done["id"]))
        assert row is not None and row.actor_id == ann.id
        person = await actor_named(db, "ann")
        await ensure_talents_loaded(db, person)
        assert person.display_name == "Ann de Vries"
        assert person.bio_source == "Ik werk aan **groen**."
        assert "<strong>groen</strong>" in (person.bio_html or "")
        assert person.location == "Utrecht"
        assert person.languages == ["nl", "en"]
        assert [t.tag for t in person.talents] == ["tuinieren"]
        assert person.links == [{"label": "Site", "url": "https://ann.example/"}]
    # Only the terms present change.
    await act(app, "ann", ann_token, {"type": "Update", "object": {
        "type": "Person", "id": ann.ap_id, "name": "Ann"}})
    status, doc, _ = await get_json(app, ann.ap_id)
    assert status == 200 and doc["name"] == "Ann"
    assert doc["location"]["name"] == "Utrecht"
    # The same checks as the form: a link must be http(s).
    await refused(app, "ann", ann_token, {"type": "Update", "object": {
        "type": "Person", "id": ann.ap_id,
        "attachment": [{"type": "PropertyValue", "name": "x", "value": "javascript:alert(1)"}]}},
        400)
    # Nobody edits somebody else's profile.
    await refused(app, "bob", bob_token, {"type": "Update", "object": {
        "type": "Person", "id": ann.ap_id, "name": "Van bob"}}, 403)
    async with app.state.db.session() as db:
        assert (await actor_named(db, "ann")).display_name == "Ann"


async def test_aliases_over_update_person(app: Any) -> None:
    """``alsoKnownAs`` is the move page's list of other accounts (``set_aliases``)."""
    ann = await make_person(app, "ann")
    rik = await make_remote(app, "rik")
    token = await token_of(app, "ann")
    done = await act(app, "ann", token, {"type": "Update", "object": {
        "type": "Person", "alsoKnownAs": [rik.ap_id]}})
    assert done["type"] == "Update"
    async with app.state.db.session() as db:
        assert (await actor_named(db, "ann")).also_known_as == [rik.ap_id]
    status, doc, _ = await get_json(app, ann.ap_id)
    assert status == 200 and doc["alsoKnownAs"] == [rik.ap_id]
    # The service's rule: not oneself.
    await refused(app, "ann", token, {"type": "Update", "object": {
        "type": "Person", "alsoKnownAs": [ann.ap_id]}}, 400)
