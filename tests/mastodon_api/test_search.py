"""Search v2 through the Mastodon API (issue 14): people and tribes as accounts, notes and
initiatives as statuses, hashtags. Resolving remote handles is in the end-to-end test
(``test_mastodon_py_e2e``), against a second real instance."""

from __future__ import annotations

from typing import Any

import pytest

from tests.initiative_helpers import make_initiative, make_world
from tests.mastodon_api.oauth_helpers import ACCOUNT_FIELDS
from tests.mastodon_api.status_helpers import (
    TAG_FIELDS,
    get_json,
    person_token,
    post_status,
    status_problems,
)

pytestmark = pytest.mark.db


async def test_search_accounts_statuses_hashtags(app: Any, client: Any) -> None:
    """Each result kind has its entity's fields; ``type`` narrows the answer."""
    world = await make_world(app)
    _, zoe = await person_token(app, "zoe")
    initiative = await make_initiative(app, world, name="Bankjes op het plein")
    posted = await post_status(client, zoe, status="Wie heeft er een bakfiets?")
    found = await get_json(client, "/api/v2/search?q=ann", zoe)
    assert [a["acct"] for a in found["accounts"]] == ["ann"]
    assert not [f for f in ACCOUNT_FIELDS if f not in found["accounts"][0]]
    tribe = await get_json(client, "/api/v2/search?q=plein&type=accounts", zoe)
    assert [a["acct"] for a in tribe["accounts"]] == ["plein"]
    assert tribe["accounts"][0]["group"] is True
    assert tribe["statuses"] == [] and tribe["hashtags"] == []
    statuses = await get_json(client, "/api/v2/search?q=bakfiets&type=statuses", zoe)
    assert [s["id"] for s in statuses["statuses"]] == [posted["id"]]
    assert status_problems(statuses["statuses"][0]) == []
    pages = await get_json(client, "/api/v2/search?q=bankjes&type=statuses", zoe)
    assert [s["uri"] for s in pages["statuses"]] == [
        f"{app.state.settings.base_url}/initiatives/{initiative.id}"
    ]
    by_url = await get_json(client, f"/api/v2/search?q={posted['uri']}", zoe)
    assert [s["id"] for s in by_url["statuses"]] == [posted["id"]]
    handle = await get_json(
        client, f"/api/v2/search?q=@bob@{app.state.settings.host}&resolve=true", zoe
    )
    assert [a["acct"] for a in handle["accounts"]] == ["bob"]
    tags = await get_json(client, "/api/v2/search?q=%23Groen&type=hashtags", zoe)
    assert [t["name"] for t in tags["hashtags"]] == ["groen"]
    assert not [f for f in TAG_FIELDS if f not in tags["hashtags"][0]]
    anonymous = await get_json(client, "/api/v2/search?q=bakfiets")
    assert set(anonymous) == {"accounts", "statuses", "hashtags"}
