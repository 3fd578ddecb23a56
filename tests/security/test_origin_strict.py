"""Strict origins (scheme, host and port, canonically spelled) and the cavage ``host`` binding.

Before: the origin check compared hosts only, so an ``https://`` or scheme-relative
``//host`` activity id passed for an ``http://`` actor and ``:08220`` for ``:8220``; and the
cavage ``host`` pseudo-check compared the request's Host with itself, so a request signed for
another server verified here when replayed with that server's Host.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from remote_helpers import RemoteServer, post_signed
from sqlalchemy import func, select

from activitypub.checks import OriginError, check_activity_origin, untrusted_embedded_ids
from activitypub.fetcher import Fetcher, FetchError
from activitypub.origin import origin_of, same_origin
from activitypub.urlpolicy import UrlPolicy
from fedi.app import create_app
from fedi.settings import Settings
from fedi.state import FediApp
from models import InboxItem

ACTOR = "http://remote.example:8220/users/zed"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Remote.Example:8220/users/zed", "http://remote.example:8220"),
        ("https://remote.example:443/x", "https://remote.example"),
        ("http://remote.example:80/x", "http://remote.example"),
        ("http://[::1]:8001/x", "http://[::1]:8001"),
        ("http://remote.example:08220/x", ""),  # leading zero: not a canonical port
        ("http://remote.example:99999/x", ""),
        ("//remote.example:8220/x", ""),  # scheme-relative
        ("https://zed@remote.example/x", ""),  # userinfo
        ("ftp://remote.example/x", ""),
        ("http:///x", ""),
        ("not a url", ""),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "activity_id",
    [
        "https://remote.example:8220/likes/1",  # other scheme
        "//remote.example:8220/likes/1",  # scheme-relative
        "http://remote.example:08220/likes/1",  # same port number, other spelling
        "http://remote.example/likes/1",  # other port
        "http://zed@remote.example:8220/likes/1",  # userinfo
    ],
)
def test_ids_of_another_origin_are_refused(activity_id: str) -> None:
    activity = {"id": activity_id, "type": "Like", "actor": ACTOR, "object": "http://x/1"}
    with pytest.raises(OriginError) as refused:
        check_activity_origin(activity, ACTOR)
    assert refused.value.status == 403


def test_same_origin_passes_and_embedded_objects_of_other_schemes_are_refetched() -> None:
    same = "http://REMOTE.example:8220/likes/1"
    check_activity_origin({"id": same, "type": "Like", "actor": ACTOR}, ACTOR)
    assert same_origin(same, ACTOR)
    create = {
        "id": "http://remote.example:8220/create/1", "type": "Create", "actor": ACTOR,
        "object": {"id": "https://remote.example:8220/notes/1", "type": "Note"},
    }
    assert untrusted_embedded_ids(create) == ["https://remote.example:8220/notes/1"]
    create["object"]["id"] = "http://remote.example:8220/notes/1"
    assert untrusted_embedded_ids(create) == []


async def test_a_fetched_document_must_have_the_origin_of_its_url() -> None:
    async def serve(request: httpx.Request) -> httpx.Response:
        # The page at http://... claims to be the https:// object.
        doc = {"id": "https" + str(request.url)[4:], "type": "Note"}
        return httpx.Response(200, content=orjson.dumps(doc),
                              headers={"Content-Type": "application/activity+json"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
        fetcher = Fetcher(client, UrlPolicy(allow_private=True), signer=None,
                          instance_signer=None)
        with pytest.raises(FetchError, match="does not belong"):
            await fetcher.fetch_json("http://remote.example/notes/1")


@pytest.fixture
async def inbox_app(settings: Settings) -> Any:
    remote = RemoteServer("remote.example")
    app = create_app(settings, http_transport=remote)
    await app.state.db.upgrade()
    async with app.test_app():
        yield app, remote


async def _stored(app: FediApp) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(select(func.count(InboxItem.id))) or 0)


async def test_the_inbox_refuses_an_id_with_another_scheme(inbox_app: Any) -> None:
    app, remote = inbox_app
    target = app.state.settings.url("/notes/1")
    for bad_id in ("https://remote.example/likes/1", "//remote.example/likes/2"):
        response = await post_signed(app, remote, remote.like(1, target, id=bad_id))
        assert response.status_code in (400, 403), (bad_id, response.text)
    good = await post_signed(app, remote, remote.like(3, target))
    assert good.status_code == 202, good.text
    assert await _stored(app) == 1


async def test_a_signature_made_for_another_server_does_not_verify_here(
    inbox_app: Any,
) -> None:
    app, remote = inbox_app
    target = app.state.settings.url("/notes/1")
    # Captured on its way to other.example and replayed here with that server's Host.
    replayed = await post_signed(
        app, remote, remote.like(1, target), signed_for="http://other.example/inbox",
        host_header="other.example",
    )
    assert replayed.status_code == 401, replayed.text
    # Signed for us, arriving with whatever Host a reverse proxy sets: what counts is our
    # configured base URL.
    proxied = await post_signed(app, remote, remote.like(2, target), host_header="127.0.0.1:9")
    assert proxied.status_code == 202, proxied.text
    assert await _stored(app) == 1
