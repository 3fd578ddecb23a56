"""The fetcher against a real loopback server, and the key cache on top of it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from loopback_server import LoopbackRequest, LoopbackServer

from activitypub.fetcher import Fetcher, FetchError, NotAnActor, SigningKey
from activitypub.http_signatures import PublicKeyInfo, sign_request, verify_request
from activitypub.keycache import KeyCache
from activitypub.keys import generate_rsa_keypair
from activitypub.sigparams import parse_signature_header
from activitypub.urlpolicy import UrlPolicy, UrlRefused

AP = {"Content-Type": "application/activity+json; charset=utf-8"}
Reply = tuple[int, dict[str, str], bytes]


def actor_doc(base: str, name: str, pem: str, **over: Any) -> dict[str, Any]:
    actor_id = f"{base}/users/{name}"
    doc = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
    }
    doc.update(over)
    return doc


def make_fetcher(client: httpx.AsyncClient, **kw: Any) -> Fetcher:
    kw.setdefault("signer", None)
    kw.setdefault("instance_signer", None)
    return Fetcher(client, UrlPolicy(allow_private=True), **kw)


async def test_fetch_json_signed_get(loopback: LoopbackServer, rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    signer = SigningKey("https://tribes.example/users/ann#main-key", private)
    seen: list[str] = []

    async def handler(req: LoopbackRequest) -> Reply:
        async def resolve(key_id: str, refresh: bool) -> PublicKeyInfo:
            return PublicKeyInfo(key_id, "https://tribes.example/users/ann", public)

        url = f"http://{req.headers['host']}{req.target}"
        result = await verify_request("GET", url, req.headers, None, resolve)
        seen.append(result.owner)
        assert req.headers["accept"].startswith("application/activity+json, application/ld+json")
        return 200, AP, json.dumps(actor_doc(loopback.base, "bob", public)).encode()

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        doc = await make_fetcher(client, signer=signer).fetch_actor(f"{loopback.base}/users/bob")
    assert doc["preferredUsername"] == "bob"
    assert seen == ["https://tribes.example/users/ann"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((200, {"Content-Type": "text/html"}, b"<html></html>"), "content type"),
        ((200, AP, b"not json"), "invalid JSON"),
        ((200, AP, b"[1, 2]"), "not an object"),
        ((200, AP, b'{"type": "Note"}'), "no id"),
        ((200, AP, b'{"id": "https://evil.example/users/bob"}'), "does not belong"),
        ((500, AP, b"{}"), "HTTP 500"),
    ],
)
async def test_fetch_json_refusals(loopback: LoopbackServer, reply: Reply, message: str) -> None:
    async def handler(req: LoopbackRequest) -> Reply:
        return reply

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError, match=message) as info:
            await make_fetcher(client).fetch_json(f"{loopback.base}/x")
    assert not info.value.gone


@pytest.mark.parametrize("status", [404, 410])
async def test_gone(loopback: LoopbackServer, status: int) -> None:
    async def handler(req: LoopbackRequest) -> Reply:
        return status, AP, b"{}"

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError) as info:
            await make_fetcher(client).fetch_json(f"{loopback.base}/x")
    assert info.value.gone and info.value.status == status


@pytest.mark.parametrize("declare_length", [True, False])
async def test_response_too_large(loopback: LoopbackServer, declare_length: bool) -> None:
    big = json.dumps({"id": f"{loopback.base}/x", "pad": "x" * 5000}).encode()

    async def handler(req: LoopbackRequest) -> Reply:
        return 200, AP if declare_length else {**AP, "X-No-Length": "1"}, big

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError, match="too large"):
            await make_fetcher(client, max_bytes=1000).fetch_json(f"{loopback.base}/x")
        # The same document under the cap is fine (and close-delimited bodies work).
        doc = await make_fetcher(client, max_bytes=10_000).fetch_json(f"{loopback.base}/x")
        assert doc["id"] == f"{loopback.base}/x"


async def test_redirects_are_followed_and_bounded(loopback: LoopbackServer) -> None:
    async def handler(req: LoopbackRequest) -> Reply:
        hop = int(req.target.rsplit("/", 1)[1])
        if hop < 5:
            return 301, {"Location": f"/r/{hop + 1}"}, b""
        return 200, AP, json.dumps({"id": f"{loopback.base}/r/5"}).encode()

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError, match="too many redirects"):
            await make_fetcher(client, max_redirects=3).fetch_json(f"{loopback.base}/r/1")
        doc = await make_fetcher(client, max_redirects=3).fetch_json(f"{loopback.base}/r/2")
    assert doc["id"].endswith("/r/5")


async def test_redirect_to_refused_address(loopback: LoopbackServer) -> None:
    class RefusePort9(UrlPolicy):
        async def check(self, url: str) -> None:
            await super().check(url)
            if httpx.URL(url).port == 9:
                raise UrlRefused("port 9 refused")

    async def handler(req: LoopbackRequest) -> Reply:
        return 302, {"Location": "http://127.0.0.1:9/users/bob"}, b""

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        fetcher = Fetcher(
            client, RefusePort9(allow_private=True), signer=None, instance_signer=None
        )
        with pytest.raises(FetchError) as info:
            await fetcher.fetch_json(f"{loopback.base}/users/bob")
    assert info.value.refused


async def test_unauthorized_retries_with_instance_key(
    loopback: LoopbackServer, rsa_keys: tuple[str, str], other_rsa_keys: tuple[str, str]
) -> None:
    """Authorized fetch: the user's key is refused (e.g. domain-blocked), the instance's works."""
    user = SigningKey("https://tribes.example/users/ann#main-key", rsa_keys[0])
    instance = SigningKey("https://tribes.example/actor#main-key", other_rsa_keys[0])

    async def handler(req: LoopbackRequest) -> Reply:
        key_id = parse_signature_header(req.headers.get("signature", "keyId=none"))["keyId"]
        if key_id != instance.key_id:
            return 401, {}, b""
        return 200, AP, json.dumps({"id": f"{loopback.base}/notes/1"}).encode()

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        doc = await make_fetcher(client, signer=user, instance_signer=instance).fetch_json(
            f"{loopback.base}/notes/1"
        )
        assert doc["id"].endswith("/notes/1")
        # Unsigned first attempt when there is no user signer, then the instance key.
        await make_fetcher(client, instance_signer=instance).fetch_json(f"{loopback.base}/notes/1")
        with pytest.raises(FetchError) as info:
            await make_fetcher(client, signer=user).fetch_json(f"{loopback.base}/notes/1")
        assert info.value.status == 401
    signed_by = [
        parse_signature_header(r.headers["signature"])["keyId"]
        if "signature" in r.headers
        else None
        for r in loopback.requests
    ]
    assert signed_by == [user.key_id, instance.key_id, None, instance.key_id, user.key_id]


async def test_fetch_actor_validation(loopback: LoopbackServer, rsa_keys: tuple[str, str]) -> None:
    docs = {
        "/users/note": actor_doc(loopback.base, "note", rsa_keys[1], type="Note"),
        "/users/noinbox": actor_doc(loopback.base, "noinbox", rsa_keys[1], inbox=None),
        "/users/stolen": actor_doc(
            loopback.base,
            "stolen",
            rsa_keys[1],
            publicKey={
                "id": "https://other.example/users/x#main-key",
                "owner": "https://other.example/users/x",
                "publicKeyPem": rsa_keys[1],
            },
        ),
    }

    async def handler(req: LoopbackRequest) -> Reply:
        return 200, AP, json.dumps(docs[req.target]).encode()

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        fetcher = make_fetcher(client)
        for path in docs:
            with pytest.raises(NotAnActor):
                await fetcher.fetch_actor(loopback.base + path)


class Documents:
    """An in-memory "remote web" for key cache tests, counting fetches."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs
        self.fetched: list[str] = []

    async def fetch(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        if url not in self.docs:
            raise FetchError("HTTP 404", url=url, status=404)
        return self.docs[url]


BASE = "https://remote.example"


async def test_key_cache_resolves_and_caches(rsa_keys: tuple[str, str]) -> None:
    web = Documents({f"{BASE}/users/bob": actor_doc(BASE, "bob", rsa_keys[1])})
    cache = KeyCache(web.fetch)
    key_id = f"{BASE}/users/bob#main-key"
    info = await cache.resolve(key_id, False)
    assert info == PublicKeyInfo(key_id, f"{BASE}/users/bob", rsa_keys[1])
    assert await cache.resolve(key_id, False) == info
    assert web.fetched == [f"{BASE}/users/bob"]
    await cache.resolve(key_id, True)
    assert len(web.fetched) == 2
    assert await cache.resolve(f"{BASE}/users/nobody#main-key", False) is None


async def test_key_cache_standalone_key_document(rsa_keys: tuple[str, str]) -> None:
    """GoToSocial-style key ids (".../main-key") that dereference to the key itself."""
    owner = f"{BASE}/users/bob"
    key_id = f"{owner}/main-key"
    key_doc = {"id": key_id, "owner": owner, "publicKeyPem": rsa_keys[1]}
    actor = actor_doc(BASE, "bob", rsa_keys[1], publicKey={**key_doc})
    web = Documents({key_id: key_doc, owner: actor})
    info = await KeyCache(web.fetch).resolve(key_id, False)
    assert info is not None and info.owner == owner
    # An owner that does not list the key refuses it.
    web.docs[owner] = actor_doc(BASE, "bob", rsa_keys[1])
    assert await KeyCache(web.fetch).resolve(key_id, False) is None
    # A key claiming an owner on another host is refused without fetching it.
    web.docs[key_id] = {**key_doc, "owner": "https://elsewhere.example/users/bob"}
    assert await KeyCache(web.fetch).resolve(key_id, False) is None


async def test_key_cache_refuses_key_owned_by_someone_else(rsa_keys: tuple[str, str]) -> None:
    doc = actor_doc(BASE, "bob", rsa_keys[1])
    doc["publicKey"]["owner"] = f"{BASE}/users/carol"
    web = Documents(
        {f"{BASE}/users/bob": doc, f"{BASE}/users/carol": actor_doc(BASE, "carol", rsa_keys[1])}
    )
    assert await KeyCache(web.fetch).resolve(f"{BASE}/users/bob#main-key", False) is None


async def test_key_cache_store_hooks_and_eviction(rsa_keys: tuple[str, str]) -> None:
    web = Documents({f"{BASE}/users/{n}": actor_doc(BASE, n, rsa_keys[1]) for n in "abc"})
    stored: dict[str, PublicKeyInfo] = {}
    saved_actors: list[str] = []

    async def load(key_id: str) -> PublicKeyInfo | None:
        return stored.get(key_id)

    async def save(info: PublicKeyInfo, actor: dict[str, Any]) -> None:
        stored[info.key_id] = info
        saved_actors.append(actor["id"])

    cache = KeyCache(web.fetch, max_entries=2, load=load, save=save)
    for n in "abc":
        await cache.resolve(f"{BASE}/users/{n}#main-key", False)
    assert saved_actors == [f"{BASE}/users/{n}" for n in "abc"]
    assert len(cache._lru) == 2
    # "a" was evicted from memory but comes back from the store without a fetch.
    fetches = len(web.fetched)
    assert await cache.resolve(f"{BASE}/users/a#main-key", False) is not None
    assert len(web.fetched) == fetches


async def test_end_to_end_inbox_verification(
    loopback: LoopbackServer, rsa_keys: tuple[str, str]
) -> None:
    """A remote actor served over loopback signs a POST; we verify via Fetcher + KeyCache."""
    private, public = rsa_keys

    async def handler(req: LoopbackRequest) -> Reply:
        return 200, AP, json.dumps(actor_doc(loopback.base, "bob", public)).encode()

    loopback.handler = handler
    key_id = f"{loopback.base}/users/bob#main-key"
    body = b'{"type":"Follow"}'
    headers = sign_request("POST", "https://tribes.example/inbox", {}, body, key_id, private)
    async with httpx.AsyncClient() as client:
        cache = KeyCache(make_fetcher(client).fetch_json)
        result = await verify_request(
            "POST", "https://tribes.example/inbox", headers, body, cache.resolve
        )
    assert result.owner == f"{loopback.base}/users/bob"


async def test_key_cache_refetches_a_key_at_most_once_per_interval(
    rsa_keys: tuple[str, str],
) -> None:
    """Anyone can send a signature in anyone's name that fails to verify; each failure asks
    for the key again. Within the interval the cache answers what it has instead of fetching
    the actor again, and a refetch that finds the same key stores nothing."""
    web = Documents({f"{BASE}/users/bob": actor_doc(BASE, "bob", rsa_keys[1])})
    saved: list[str] = []

    async def save(info: PublicKeyInfo, actor: dict[str, Any]) -> None:
        saved.append(info.public_key_pem)

    cache = KeyCache(web.fetch, save=save)
    key_id = f"{BASE}/users/bob#main-key"
    first = await cache.resolve(key_id, False)
    assert first is not None and len(web.fetched) == 1 and len(saved) == 1
    for _ in range(5):  # five forged signatures in a row
        assert await cache.resolve(key_id, True) == first
    assert len(web.fetched) == 2  # one refetch, which found the same key...
    assert len(saved) == 1  # ...and stored nothing
    # A rotation after the interval is seen at the next refresh.
    _, new_public = generate_rsa_keypair()
    web.docs[f"{BASE}/users/bob"] = actor_doc(BASE, "bob", new_public)
    cache._refreshed[key_id] -= cache.refresh_interval
    rotated = await cache.resolve(key_id, True)
    assert rotated is not None and rotated.public_key_pem == new_public
    assert saved == [rsa_keys[1], new_public]
    # With no interval every refresh fetches (what a test of rotation may want).
    eager = KeyCache(web.fetch, refresh_interval=0)
    before = len(web.fetched)
    await eager.resolve(key_id, True)
    await eager.resolve(key_id, True)
    assert len(web.fetched) == before + 2
