"""Activities shaped as Mastodon sends them notify people here: a join request to a tribe
(a Follow of its Group), a reply with mentions, a Like and a report (Flag).

The remote server is the fake on the routing transport (``tests/federation/fakes.py``,
``localhost:9001``) with a real key pair; the payloads follow Mastodon's shapes as in
``/work/shared/reference-payloads/mastodon/activities``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fakes import FakeActor, FakeServer
from harness import drain
from social_helpers import local

from activitypub.vocab import PUBLIC
from fedi.domain import notes, tribes
from fedi.state import FediApp
from tests.notifications.notify_helpers import kinds_of, notes_of
from tests.tribe_helpers import make_person, make_tribe

ANN = "http://localhost:8001/users/ann"
CAS = "http://localhost:8001/users/cas"
FIONA = "http://localhost:9001/users/fiona"


async def _deliver(app: FediApp, actor: FakeActor, activity: dict[str, Any]) -> int:
    body = orjson.dumps(activity)
    headers = actor.signed_post("http://localhost:8001/inbox", body)
    response = await app.test_client().post("/inbox", data=body, headers=headers)
    return response.status_code


async def test_mastodon_join_request_reply_mention_like_and_report(two_apps: Any) -> None:
    a, _b = two_apps
    server = FakeServer("localhost:9001")
    two_apps.router.add("localhost:9001", server)
    fiona = FakeActor(server, "/users/fiona")
    await make_person(a, "ann")
    await make_person(a, "cas")
    await make_person(a, "beheer", is_admin=True)
    await make_tribe(a, "buurt", "ann", join_mode="approval", name="De Buurt")
    async with a.state.db.session() as db:
        group = (await tribes.get_tribe(db, "buurt")).actor.ap_id
        ann = await db.merge(await local(a, "ann"))
        post = await notes.create_note(db, a.state, ann, "Wie komt er zaterdag?")
        post_id = post.ap_id

    # Mastodon users join a group by following it.
    assert await _deliver(a, fiona, {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:9001/5e2a7a3c-follow", "type": "Follow",
        "actor": FIONA, "object": group,
    }) == 202
    reply_id = "http://localhost:9001/users/fiona/statuses/107224289116410645"
    assert await _deliver(a, fiona, {
        "@context": ["https://www.w3.org/ns/activitystreams",
                     {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
        "id": f"{reply_id}/activity", "type": "Create", "actor": FIONA,
        "published": "2026-12-05T11:46:50Z",
        "to": [f"{FIONA}/followers"], "cc": [PUBLIC, ANN, CAS],
        "object": {
            "id": reply_id, "type": "Note", "summary": None, "inReplyTo": post_id,
            "published": "2026-12-05T11:46:50Z",
            "url": "http://localhost:9001/@fiona/107224289116410645",
            "attributedTo": FIONA, "to": [f"{FIONA}/followers"], "cc": [PUBLIC, ANN, CAS],
            "sensitive": False,
            "content": '<p><span class="h-card"><a href="http://localhost:8001/@ann" '
                       'class="u-url mention">@<span>ann</span></a></span> <span '
                       'class="h-card"><a href="http://localhost:8001/@cas" class="u-url '
                       'mention">@<span>cas</span></a></span> ik kom!</p>',
            "attachment": [],
            "tag": [
                {"type": "Mention", "href": ANN, "name": "@ann@localhost:8001"},
                {"type": "Mention", "href": CAS, "name": "@cas@localhost:8001"},
            ],
        },
    }) == 202
    assert await _deliver(a, fiona, {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:9001/users/fiona#likes/3001", "type": "Like",
        "actor": FIONA, "object": post_id,
    }) == 202
    assert await _deliver(a, fiona, {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:9001/ccb4f39a-506a-490e-9a8c-71831c7713a4", "type": "Flag",
        "actor": FIONA, "content": "Please take a look at this user and their posts",
        "object": [ANN, post_id], "to": ANN,
    }) == 202
    await drain(a)

    ann_kinds = await kinds_of(a, "ann")
    assert "tribe_join_requested" in ann_kinds
    assert ann_kinds.count("reply") == 1 and "mention" not in ann_kinds
    assert ann_kinds.count("like") == 1
    assert await kinds_of(a, "cas") == ["mention"]
    [mention] = await notes_of(a, "cas", "mention")
    assert "ik kom!" in mention.payload["excerpt"]
    assert mention.payload["url"] == "http://localhost:9001/@fiona/107224289116410645"
    [report] = await notes_of(a, "beheer", "report")
    assert report.payload["comment"] == "Please take a look at this user and their posts"
    [asked] = await notes_of(a, "ann", "tribe_join_requested")
    assert asked.payload["slug"] == "buurt"
