"""Vocabulary helpers, builders, timestamps, digests, keys, WebFinger parsing and NodeInfo."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from activitypub import builders, nodeinfo, vocab
from activitypub.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest,
)
from activitypub.keys import InvalidKey, load_private_key, load_public_key
from activitypub.normalize import normalize_activity
from activitypub.timefmt import format_datetime, parse_datetime
from activitypub.webfinger import WebFingerError, build_jrd, parse_resource


def test_vocab_helpers() -> None:
    assert vocab.as_list(None) == []
    assert vocab.as_list("a") == ["a"]
    assert vocab.as_list(["a", "b"]) == ["a", "b"]
    assert vocab.as_list({"id": "x"}) == [{"id": "x"}]
    assert vocab.id_of("https://a/x") == "https://a/x"
    assert vocab.id_of({"id": "https://a/x", "type": "Note"}) == "https://a/x"
    assert vocab.id_of({"type": "Link", "href": "https://a/l"}) == "https://a/l"
    assert vocab.id_of({"type": "Note"}) is None
    assert vocab.id_of(3) is None
    assert vocab.is_public(["https://a/followers", vocab.PUBLIC])
    assert vocab.is_public("as:Public")
    assert vocab.is_public([{"id": "Public"}])
    assert not vocab.is_public(["https://a/followers"])
    assert not vocab.is_public(None)


def test_host_of_keeps_non_default_ports() -> None:
    assert vocab.host_of("http://localhost:8001/users/a") == "localhost:8001"
    assert vocab.host_of("https://Mastodon.Example:443/users/a") == "mastodon.example"
    assert vocab.host_of("http://example.org:80/") == "example.org"
    assert vocab.host_of("https://example.org:8443/") == "example.org:8443"
    assert vocab.host_of("http://[::1]:9000/x") == "[::1]:9000"


def test_contexts() -> None:
    ctx = vocab.default_context("https://tribes.example/ns")
    assert ctx[:2] == [vocab.AS_CONTEXT, vocab.SECURITY_CONTEXT]
    terms = ctx[2]
    assert terms["pu"] == "https://tribes.example/ns#"
    assert terms["featured"] == {"@id": "toot:featured", "@type": "@id"}
    assert terms["discoverable"] == "toot:discoverable"
    for term in (
        "joinMode",
        "initiativePolicy",
        "phase",
        "budget",
        "budgetType",
        "talents",
        "isResolved",
        "Contribution",
        "Task",
        "lane",
        "rating",
        "PropertyValue",
        "value",
    ):
        assert term in terms
    assert vocab.extension_context("https://tribes.example/ns")["@context"] == terms


def test_timestamps() -> None:
    dt = datetime(2026, 11, 29, 20, 30, 0, 123456, tzinfo=UTC)
    assert format_datetime(dt) == "2026-11-29T20:30:00Z"
    assert (
        format_datetime(datetime(2026, 11, 29, 21, 30, tzinfo=timezone(timedelta(hours=1))))
        == "2026-11-29T20:30:00Z"
    )
    assert parse_datetime("2026-11-29T20:30:00Z") == datetime(2026, 11, 29, 20, 30, tzinfo=UTC)
    assert parse_datetime("2020-01-17T01:38:22.348392Z").microsecond == 348392
    assert parse_datetime("2020-01-17T01:38:22.348392123+02:00").hour == 23
    assert parse_datetime("2020-01-17T01:38:22.3Z").microsecond == 300000
    with pytest.raises(ValueError):
        parse_datetime("yesterday")


def test_build_actor_shape(rsa_keys: tuple[str, str]) -> None:
    actor = builders.build_actor(
        actor_id="https://tribes.example/tribes/harbour-garden",
        actor_type="Group",
        username="harbour-garden",
        name="Harbour Garden",
        summary_html="<p>We grow things.</p>",
        url="https://tribes.example/t/harbour-garden",
        inbox="https://tribes.example/tribes/harbour-garden/inbox",
        outbox="https://tribes.example/tribes/harbour-garden/outbox",
        followers="https://tribes.example/tribes/harbour-garden/followers",
        following="https://tribes.example/tribes/harbour-garden/following",
        shared_inbox="https://tribes.example/inbox",
        public_key_pem=rsa_keys[1],
        icon_url="https://tribes.example/media/icon.png",
        manually_approves=True,
        published=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        attachment=[{"type": "PropertyValue", "name": "Web", "value": "<a>x</a>"}],
        extra={"attributedTo": "https://tribes.example/tribes/harbour-garden/moderators"},
        context=vocab.default_context("https://tribes.example/ns"),
    )
    assert actor["type"] == "Group"
    assert actor["publicKey"] == {
        "id": "https://tribes.example/tribes/harbour-garden#main-key",
        "owner": "https://tribes.example/tribes/harbour-garden",
        "publicKeyPem": rsa_keys[1],
    }
    assert actor["endpoints"] == {"sharedInbox": "https://tribes.example/inbox"}
    assert actor["manuallyApprovesFollowers"] is True
    assert actor["published"] == "2026-01-02T03:04:05Z"
    assert actor["icon"] == {"type": "Image", "url": "https://tribes.example/media/icon.png"}
    assert "image" not in actor
    assert actor["attributedTo"].endswith("/moderators")
    person = builders.build_person(**{k: v for k, v in _person_kwargs(rsa_keys[1]).items()})
    assert person["type"] == "Person"


def _person_kwargs(pem: str) -> dict[str, object]:
    base = "https://tribes.example/users/ann"
    return {
        "actor_id": base,
        "username": "ann",
        "name": "Ann",
        "summary_html": "",
        "url": base,
        "inbox": base + "/inbox",
        "outbox": base + "/outbox",
        "followers": base + "/followers",
        "following": base + "/following",
        "shared_inbox": "https://tribes.example/inbox",
        "public_key_pem": pem,
    }


def test_activity_builders() -> None:
    follow = builders.build_follow(
        "https://m.example/f/1", "https://m.example/u/a", "https://tribes.example/tribes/g"
    )
    assert follow == {
        "@context": vocab.AS_CONTEXT,
        "id": "https://m.example/f/1",
        "type": "Follow",
        "actor": "https://m.example/u/a",
        "object": "https://tribes.example/tribes/g",
    }
    accept = builders.build_accept(
        "https://tribes.example/a/1", "https://tribes.example/tribes/g", follow
    )
    assert accept["object"]["type"] == "Follow" and "@context" not in accept["object"]
    assert builders.build_reject("r", "a", follow)["type"] == "Reject"
    assert builders.build_undo("u", "a", follow)["object"]["id"] == follow["id"]
    note = builders.build_note(
        id="https://tribes.example/n/1",
        attributed_to="https://tribes.example/users/ann",
        content_html="<p>hi</p>",
        to=[vocab.PUBLIC],
        cc=["https://tribes.example/tribes/g"],
        published=datetime(2026, 11, 29, 20, 30, tzinfo=UTC),
        source_markdown="hi",
        tags=[{"type": "Mention", "href": "https://m.example/u/a", "name": "@a@m.example"}],
    )
    assert note["published"] == "2026-11-29T20:30:00Z"
    assert note["source"] == {"content": "hi", "mediaType": "text/markdown"}
    assert note["url"] == note["id"] and note["inReplyTo"] is None
    create = builders.build_create(
        "https://tribes.example/n/1/activity",
        "https://tribes.example/users/ann",
        note,
        note["to"],
        note["cc"],
    )
    assert create["object"]["id"] == note["id"]
    wrapped = builders.build_create("c", "a", {**note, "@context": vocab.AS_CONTEXT}, [], [])
    assert "@context" not in wrapped["object"]
    assert create["to"] == [vocab.PUBLIC]
    assert builders.build_update("x", "a", note, [], [])["type"] == "Update"
    delete = builders.build_delete("d", "a", "https://tribes.example/n/1", [vocab.PUBLIC], [])
    assert delete["object"] == "https://tribes.example/n/1"
    assert builders.build_like("l", "a", "o")["object"] == "o"
    announce = builders.build_announce(
        "an", "g", "o", [vocab.PUBLIC], ["g/followers"], datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert announce["published"] == "2026-01-01T00:00:00Z"
    tomb = builders.build_tombstone("https://tribes.example/n/1", "Note", "2026-11-29T20:30:00Z")
    assert tomb["type"] == "Tombstone" and tomb["formerType"] == "Note"


G = "https://tribes.example/tribes/g"
ANN = "https://tribes.example/users/ann"


def test_build_activity_general_shape() -> None:
    doc = builders.build_activity(
        "Add",
        "https://tribes.example/a/1",
        G,
        {"@context": vocab.AS_CONTEXT, "id": "https://tribes.example/n/1", "type": "Note"},
        target=f"{G}/featured",
        to=(vocab.PUBLIC,),
        cc=[f"{G}/followers"],
        audience=G,
        published=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        summary="pinned",
        content=None,
    )
    assert doc == {
        "@context": vocab.AS_CONTEXT,
        "id": "https://tribes.example/a/1",
        "type": "Add",
        "actor": G,
        "object": {"id": "https://tribes.example/n/1", "type": "Note"},
        "target": f"{G}/featured",
        "to": [vocab.PUBLIC],
        "cc": [f"{G}/followers"],
        "audience": G,
        "published": "2026-03-04T05:06:07Z",
        "summary": "pinned",
    }
    bare = builders.build_activity("Like", "l", ANN, "o", ld_context=None, context="https://t/c")
    assert bare == {"id": "l", "type": "Like", "actor": ANN, "object": "o", "context": "https://t/c"}
    assert builders.build_activity("Like", "l", ANN, "o", audience=[G])["audience"] == [G]
    blind: list[dict[str, Any]] = [{"bto": [G]}, {"bcc": [G]}]
    for hidden in blind:
        with pytest.raises(ValueError, match="must never be sent"):
            builders.build_activity("Create", "c", ANN, {}, **hidden)


def test_specific_activity_builders() -> None:
    add = builders.build_add("a", G, ANN, f"{G}/moderators", to=[vocab.PUBLIC], audience=G)
    assert add == {
        "@context": vocab.AS_CONTEXT, "id": "a", "type": "Add", "actor": G, "object": ANN,
        "target": f"{G}/moderators", "to": [vocab.PUBLIC], "audience": G,
    }
    remove = builders.build_remove("r", G, "https://t/n/1", f"{G}/outbox", cc=[ANN])
    assert (remove["type"], remove["target"], remove["cc"]) == ("Remove", f"{G}/outbox", [ANN])
    assert "to" not in remove and "audience" not in remove
    offer = builders.build_offer(
        "o", ANN, {"@context": [], "id": "https://t/c/1", "type": "Contribution"},
        target="https://t/task/1", published="2026-01-01T00:00:00Z",
    )
    assert offer["object"] == {"id": "https://t/c/1", "type": "Contribution"}
    assert offer["target"] == "https://t/task/1"
    assert offer["published"] == "2026-01-01T00:00:00Z"
    join = builders.build_join("j", ANN, G, to=[G])
    assert join == {
        "@context": vocab.AS_CONTEXT, "id": "j", "type": "Join", "actor": ANN, "object": G,
        "to": [G],
    }
    assert builders.build_leave("l", ANN, G)["type"] == "Leave"
    invite = builders.build_invite("i", G, G, "https://m.example/u/bob")
    assert (invite["object"], invite["target"], invite["to"]) == (
        G, "https://m.example/u/bob", ["https://m.example/u/bob"],
    )
    assert builders.build_invite("i", G, G, ANN, to=[])["to"] == []
    one = builders.build_flag("f", ANN, "https://m.example/n/1", comment="spam", to=[G])
    assert one["object"] == "https://m.example/n/1"
    assert one["content"] == one["summary"] == "spam" and one["to"] == [G]
    many = builders.build_flag("f", ANN, ["https://m.example/u/x", "https://m.example/n/1"])
    assert many["object"] == ["https://m.example/u/x", "https://m.example/n/1"]
    assert "content" not in many and "summary" not in many
    with pytest.raises(ValueError):
        builders.build_flag("f", ANN, [])
    ban = builders.build_block(
        "b", G, ANN, target=G, reason="spam", expires=datetime(2026, 6, 1, tzinfo=UTC),
        to=[vocab.PUBLIC], cc=[G], audience=G,
    )
    assert (ban["target"], ban["summary"], ban["endTime"]) == (G, "spam", "2026-06-01T00:00:00Z")
    personal = builders.build_block("b", ANN, "https://m.example/u/x")
    assert set(personal) == {"@context", "id", "type", "actor", "object"}
    dislike = builders.build_dislike("d", ANN, "https://t/n/1", audience=G)
    assert (dislike["type"], dislike["audience"]) == ("Dislike", G)


def test_built_activities_normalise() -> None:
    base = "https://tribes.example/activities/"
    note = builders.build_note(
        id="https://tribes.example/n/1", attributed_to=ANN, content_html="<p>hi</p>",
        to=[vocab.PUBLIC], cc=[G], published="2026-01-01T00:00:00Z",
    )
    docs = [
        builders.build_create(base + "1", ANN, note, note["to"], note["cc"]),
        builders.build_add(base + "2", G, ANN, f"{G}/moderators", to=[vocab.PUBLIC]),
        builders.build_remove(base + "3", G, ANN, f"{G}/moderators"),
        builders.build_offer(base + "4", ANN, {"id": base + "c", "type": "Contribution"}),
        builders.build_join(base + "5", ANN, G),
        builders.build_leave(base + "6", ANN, G),
        builders.build_invite(base + "7", G, G, "https://m.example/u/bob"),
        builders.build_flag(base + "8", ANN, ["https://m.example/u/x", "https://m.example/n/2"]),
        builders.build_block(
            base + "9", G, ANN, target=G, reason="r", expires="2026-06-01T00:00:00Z"
        ),
        builders.build_dislike(base + "10", ANN, "https://m.example/n/2", audience=G),
        builders.build_undo(base + "11", ANN, builders.build_join(base + "5", ANN, G)),
    ]
    acts = [normalize_activity(doc) for doc in docs]
    assert [a.kind for a in acts] == [
        "Create", "Add", "Remove", "Offer", "Join", "Leave", "Invite", "Flag", "Block",
        "Dislike", "Undo",
    ]
    create, add, _, offer, join, _, invite, flag, block, dislike, undo = acts
    assert create.object is not None and create.object.content == "<p>hi</p>"
    assert create.object.published == datetime(2026, 1, 1, tzinfo=UTC) and create.is_public
    assert add.target == f"{G}/moderators" and add.object_id == ANN
    assert offer.object is not None and offer.object.kind == "Contribution"
    assert join.object_id == G and invite.target == "https://m.example/u/bob"
    assert invite.to == ("https://m.example/u/bob",)
    assert flag.object_ids == ("https://m.example/u/x", "https://m.example/n/2")
    assert block.summary == "r" and block.end_time == datetime(2026, 6, 1, tzinfo=UTC)
    assert dislike.audience == (G,)
    assert undo.object_activity is not None and undo.object_activity.kind == "Join"


def test_collections() -> None:
    coll = builders.ordered_collection("https://t/c", 12, first="https://t/c?page=1")
    assert coll == {
        "@context": vocab.AS_CONTEXT,
        "id": "https://t/c",
        "type": "OrderedCollection",
        "totalItems": 12,
        "first": "https://t/c?page=1",
    }
    inline = builders.ordered_collection("https://t/c", 1, ordered_items=["https://t/x"])
    assert inline["orderedItems"] == ["https://t/x"] and "first" not in inline
    page = builders.ordered_collection_page(
        "https://t/c?page=1", "https://t/c", ["a"], next="https://t/c?page=2"
    )
    assert page["partOf"] == "https://t/c" and page["next"] == "https://t/c?page=2"
    assert "prev" not in page


def test_digests() -> None:
    body = b'{"type":"Follow"}'
    b64 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    b512 = base64.b64encode(hashlib.sha512(body).digest()).decode()
    assert digest_header(body) == f"SHA-256={b64}"
    assert verify_digest(f"SHA-256={b64}", body)
    assert verify_digest(f"sha-256={b64}", body)
    assert verify_digest(f"MD5=abc, SHA-256={b64}", body)
    assert verify_digest(f"SHA-256={b64},SHA-512={b512}", body)
    assert not verify_digest(f"SHA-256={b64},SHA-512={b64}", body)
    assert not verify_digest("MD5=abc", body)
    assert not verify_digest(f"SHA-256={b64}", body + b" ")
    assert not verify_digest("SHA-256=!!!", body)
    assert content_digest_header(body) == f"sha-256=:{b64}:"
    assert verify_content_digest(f"sha-512=:{b512}:, sha-256=:{b64}:", body)
    assert verify_content_digest(f"md5=:AAAA:, sha-256=:{b64}:", body)
    assert not verify_content_digest(f"sha-256={b64}", body)
    assert not verify_content_digest("md5=:AAAA:", body)


def test_key_loading_is_cached_and_validated(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    load_private_key.cache_clear()
    load_private_key(private)
    start = time.perf_counter()
    for _ in range(100):
        load_private_key(private)
    assert time.perf_counter() - start < 0.05
    assert load_public_key(public) is load_public_key(public)
    with pytest.raises(InvalidKey):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("acct:ann@tribes.example", ("ann", "tribes.example")),
        ("acct:ann@localhost:8001", ("ann", "localhost:8001")),
        ("ann@Tribes.Example", ("ann", "tribes.example")),
        ("@ann@tribes.example", ("ann", "tribes.example")),
        ("https://tribes.example/users/ann", "https://tribes.example/users/ann"),
        ("http://localhost:8001/users/ann", "http://localhost:8001/users/ann"),
    ],
)
def test_parse_resource(resource: str, expected: object) -> None:
    assert parse_resource(resource) == expected


@pytest.mark.parametrize("resource", ["ann", "acct:@host", "acct:ann@", "a@b@c", "ftp://x/y", ""])
def test_parse_resource_rejects(resource: str) -> None:
    with pytest.raises(WebFingerError):
        parse_resource(resource)


def test_build_jrd() -> None:
    jrd = build_jrd(
        "acct:ann@tribes.example",
        "https://tribes.example/users/ann",
        "https://tribes.example/@ann",
        ["https://tribes.example/users/ann"],
        subscribe_template="https://tribes.example/authorize_interaction?uri={uri}",
    )
    assert jrd["subject"] == "acct:ann@tribes.example"
    assert jrd["links"][0] == {
        "rel": "self",
        "type": "application/activity+json",
        "href": "https://tribes.example/users/ann",
    }
    assert jrd["links"][1]["rel"] == "http://webfinger.net/rel/profile-page"
    assert jrd["links"][2]["template"].endswith("{uri}")


def test_nodeinfo_and_host_meta() -> None:
    wk = nodeinfo.well_known_nodeinfo("https://tribes.example/")
    assert [link["href"] for link in wk["links"]] == [
        "https://tribes.example/nodeinfo/2.1",
        "https://tribes.example/nodeinfo/2.0",
    ]
    args = dict(
        software_name="Fedi-Partup",
        software_version="0.1.0",
        repository="https://git.example/partup",
        homepage="https://partup.example",
        open_registrations=True,
        users_total=3,
        users_active_month=2,
        users_active_halfyear=3,
        local_posts=10,
        metadata={"nodeName": "Harbour"},
    )
    v21 = nodeinfo.build_nodeinfo("2.1", **args)  # type: ignore[arg-type]
    assert v21["software"] == {
        "name": "fedi-partup",
        "version": "0.1.0",
        "repository": "https://git.example/partup",
        "homepage": "https://partup.example",
    }
    assert v21["usage"]["users"] == {"total": 3, "activeMonth": 2, "activeHalfyear": 3}
    v20 = nodeinfo.build_nodeinfo("2.0", **args)  # type: ignore[arg-type]
    assert "repository" not in v20["software"] and v20["protocols"] == ["activitypub"]
    xml = nodeinfo.host_meta_xml("https://tribes.example")
    assert 'template="https://tribes.example/.well-known/webfinger?resource={uri}"' in xml
    assert nodeinfo.host_meta_json("https://tribes.example")["links"][0]["rel"] == "lrdd"
