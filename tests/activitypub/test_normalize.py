"""The parse-once layer: real payloads, odd-but-valid shapes, malformed documents, garbage.

Real payloads are read from the shared reference folder (captured by the Lemmy project; its
README forbids copying them into the project), so those tests are skipped where the folder
is absent, and fail there under ``FEDI_TEST_REQUIRE_ALL=1`` (CI has the folder beside the
repository). Set ``FEDI_REFERENCE_PAYLOADS`` to point at another copy.
"""

from __future__ import annotations

import copy
import json
import os
import random
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.normalize import (
    AsActivity,
    AsObject,
    Attachment,
    Link,
    Malformed,
    Place,
    Tag,
    normalize_activity,
    normalize_object,
    types_of,
)
from activitypub.vocab import PUBLIC

REFERENCE = Path(
    os.environ.get(
        "FEDI_REFERENCE_PAYLOADS",
        Path(__file__).resolve().parents[3] / "shared" / "reference-payloads",
    )
)
PAYLOADS = sorted(p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*.json"))
REQUIRE_ALL = os.environ.get("FEDI_TEST_REQUIRE_ALL") == "1"


def _missing(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) when the payloads are not there."""
    if REQUIRE_ALL:
        pytest.fail(f"required reference payloads missing: {reason}", pytrace=False)
    pytest.skip(reason)


# Filed under activities/ but a bare Note, not an activity (it has no actor).
NOT_AN_ACTIVITY = {"mastodon/activities/private_message.json"}


def load(rel: str | None) -> dict[str, Any]:
    """Read one reference payload, skipping the test where the folder is absent."""
    if rel is None:
        _missing(f"reference payloads not found in {REFERENCE}")
    path = REFERENCE / str(rel)
    if not path.is_file():
        _missing(f"reference payload {rel} not found")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Every captured payload
# --------------------------------------------------------------------------------------------


def _check_activity(doc: dict[str, Any]) -> AsActivity:
    act = normalize_activity(doc)
    assert act.id == doc["id"]
    assert act.kind == doc["type"] and act.types == (doc["type"],)
    assert act.actor in act.actors and act.raw is doc
    embedded = doc.get("object")
    if isinstance(embedded, dict):
        assert act.object is not None and act.object_raw is embedded
        assert act.object_id == embedded.get("id") == act.object.id
    elif isinstance(doc.get("object"), str):
        assert act.object is None and act.object_id == doc["object"]
    return act


def _check_object(doc: dict[str, Any]) -> AsObject:
    obj = normalize_object(doc)
    assert obj.id == doc["id"] and obj.kind == doc["type"] and obj.raw is doc
    for key in ("to", "cc"):
        sent = doc.get(key)
        sent = [sent] if isinstance(sent, str) else sent or []
        assert list(getattr(obj, key)) == sent
    return obj


@pytest.mark.parametrize("rel", PAYLOADS or [None])
def test_every_reference_payload_normalises(rel: str) -> None:
    doc = load(rel)
    if rel in NOT_AN_ACTIVITY:
        with pytest.raises(Malformed, match="actor is missing"):
            normalize_activity(doc)
        assert _check_object(doc).kind == "Note"
    elif "/activities/" in rel:
        _check_activity(doc)
    else:
        obj = _check_object(doc)
        items = doc.get("orderedItems") or doc.get("items") or []
        for item in items:
            if isinstance(item, str):
                continue
            if "actor" in item and "object" in item:
                _check_activity(item)
            else:
                _check_object(item)
        assert obj.types


def test_payload_count_is_what_the_folder_holds() -> None:
    if not PAYLOADS:
        _missing(f"reference payloads not found in {REFERENCE}")
    # The README names 15 servers; a shrinking folder would silently shrink coverage.
    assert len(PAYLOADS) >= 120
    assert {p.split("/")[0] for p in PAYLOADS} >= {
        "mastodon", "lemmy", "mobilizon", "friendica", "peertube", "pleroma", "mitra",
        "mbin", "lotide", "gnusocial", "discourse", "wordpress", "smithereen", "nodebb",
    }


def test_mastodon_create_note() -> None:
    act = normalize_activity(load("mastodon/activities/create_note.json"), languages=("en",))
    assert act.kind == "Create"
    assert act.actor == "https://mastodon.madrid/users/felix"
    assert act.published == datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)
    assert act.to == ("https://mastodon.madrid/users/felix/followers",)
    assert act.cc == (PUBLIC, "https://mamot.fr/users/retiolus")
    assert act.is_public and act.object_activity is None
    note = act.object
    assert note is not None and note.kind == "Note"
    assert note.id == "https://mastodon.madrid/users/felix/statuses/107224289116410645"
    assert note.in_reply_to == "https://mamot.fr/users/retiolus/statuses/107224244380204526"
    assert note.url == "https://mastodon.madrid/@felix/107224289116410645"
    assert note.attributed_to == ("https://mastodon.madrid/users/felix",)
    assert note.content is not None and note.content.startswith("<p><span class=\"h-card\">")
    assert set(note.content_map) == {"en"}
    # content and contentMap differ by a space in this capture; the single key still names it.
    assert note.language == "en"
    assert note.summary is None and note.sensitive is False
    assert note.conversation == (
        "tag:mamot.fr,2021-11-05:objectId=64635960:objectType=Conversation"
    )
    assert note.context is None
    assert note.tags == (
        Tag(kind="Mention", href="https://mamot.fr/users/retiolus", name="@retiolus@mamot.fr"),
    )
    assert note.mentions == ("https://mamot.fr/users/retiolus",)
    assert note.attachments == ()
    assert note.replies == (
        "https://mastodon.madrid/users/felix/statuses/107224289116410645/replies"
    )


def test_mastodon_note_with_described_image() -> None:
    note = normalize_object(load("mastodon/objects/note_2.json"))
    assert note.attachments == (
        Attachment(
            kind="Document",
            url="https://cdn.masto.host/floss/media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg",
            media_type="image/jpeg",
            name="The KDE dragons Katie and Konqi stand on either side of a pot filling up "
            "with gold coins. Donate!",
            width=1500,
            height=1095,
            blurhash="USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc",
            focal_point=(0.0, 0.0),
            links=(
                Link(
                    "https://cdn.masto.host/floss/media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg"
                ),
            ),
        ),
    )
    assert "https://lemmy.kde.social/c/kde" in note.cc and note.is_public


def test_mastodon_flag_lists_account_and_statuses() -> None:
    flag = normalize_activity(load("mastodon/activities/flag.json"))
    assert flag.kind == "Flag" and flag.object is None and flag.object_raw is None
    assert flag.object_ids == (
        "https://example.com/users/1",
        "https://example.com/posts/380590",
        "https://example.com/posts/380591",
    )
    assert flag.object_id == "https://example.com/users/1"
    assert flag.content == "Please take a look at this user and their posts"
    assert flag.to == ("https://example.com/users/1",) and not flag.is_public


def test_mbin_flag_reason_in_summary_and_content() -> None:
    flag = normalize_activity(load("mbin/activities/flag.json"))
    assert flag.object_ids == ("https://lemmy-test/post/4", "https://lemmy-test/u/BentiGorlich")
    assert flag.summary == flag.content == "dikjhgasdpas dsaü"
    assert flag.audience == ("https://lemmy-test/c/test_mag",)


def test_mastodon_undo_follow_embeds_the_follow() -> None:
    undo = normalize_activity(load("mastodon/activities/undo_follow.json"))
    assert undo.object_id == "https://masto.asonix.dog/1ea87517-63c5-4118-8831-460ee641b2cf"
    inner = undo.object_activity
    assert inner is not None and inner.kind == "Follow"
    assert inner.actor == "https://masto.asonix.dog/users/asonix"
    assert inner.object_id == "https://ds9.lemmy.ml/c/testcom" and inner.object is None


def test_mastodon_delete_with_tombstone() -> None:
    delete = normalize_activity(load("mastodon/activities/delete.json"))
    assert delete.object is not None and delete.object.kind == "Tombstone"
    assert delete.object_id == "https://mastodon.madrid/users/felix/statuses/107773559874184870"
    assert delete.object_activity is None


def test_mobilizon_event() -> None:
    event = normalize_object(load("mobilizon/objects/event.json"))
    assert event.kind == "Event" and event.types == ("Event",)
    assert event.name == "Caledonian scottish dance class"
    assert event.start_time == datetime(2022, 12, 11, 19, 0, tzinfo=UTC)
    assert event.end_time == datetime(2022, 12, 11, 21, 0, tzinfo=UTC)
    assert event.updated == datetime(2022, 9, 27, 14, 39, 18, tzinfo=UTC)
    assert event.location == Place(
        id="https://rendezvous.nomagic.uk/address/e4c95383-15ac-4cc7-adf6-723d74ee2ccc",
        name="The Kenn Centre",
        address="Devon Expressway, EX6 7TW Teignbridge, England, United Kingdom",
        latitude=50.66881615,
        longitude=-3.537739788359949,
    )
    # Mobilizon: the group in attributedTo, the organiser in actor; attributedTo wins.
    assert event.attributed_to == ("https://rendezvous.nomagic.uk/@devon_caledonian_society",)
    assert event.language == "en"  # from inLanguage
    assert event.media_type == "text/html"
    assert [t.name for t in event.tags] == ["#Dance", "#Caledonian", "#Lesson"]
    assert {t.kind for t in event.tags} == {"Hashtag"}
    (banner,) = event.attachments
    assert banner.kind == "Document" and banner.name == "Banner"
    assert banner.media_type == "image/jpeg" and banner.url is not None
    assert banner.url.startswith("https://rendezvous.nomagic.uk/media/cd75bf2f")
    assert event.is_public and event.cc == ("https://rendezvous.nomagic.uk/@emorrp1/followers",)


def test_mobilizon_group_with_empty_address() -> None:
    group = normalize_object(load("mobilizon/objects/group.json"))
    assert group.location == Place(
        id="https://mobilizon.fr/address/935f207e-4c0f-4818-8762-51d6ab2ed27e"
    )
    assert group.icon_url is not None and group.icon_url.startswith("https://mobilizon.fr/media/")


def test_peertube_video() -> None:
    video = normalize_object(load("peertube/objects/video.json"))
    assert video.kind == "Video"
    # The watch page (text/html) out of the HLS playlist and MP4 links.
    assert video.url == "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1"
    assert video.urls[0].media_type == "text/html"
    assert any(u.media_type == "application/x-mpegURL" for u in video.urls)
    assert video.attributed_to == (
        "https://tilvids.com/accounts/thelinuxexperiment",
        "https://tilvids.com/video-channels/thelinuxexperiment_channel",
    )
    assert video.language == "en"  # {"identifier": "en", "name": "English"}
    assert video.media_type == "text/markdown"
    assert video.published == datetime(2025, 2, 1, 11, 59, 45, 94000, tzinfo=UTC)
    # Two thumbnails; the larger one wins.
    assert video.icon_url == (
        "https://tilvids.com/lazy-static/previews/ef6088ee-c83a-4fcf-8be2-58db95ca5135.jpg"
    )


def test_peertube_channel_attributed_to_embedded_person() -> None:
    group = normalize_object(load("peertube/objects/group.json"))
    assert group.attributed_to == ("https://tilvids.com/accounts/thelinuxexperiment",)


def test_lemmy_page_with_image_and_link() -> None:
    page = normalize_object(load("lemmy/objects/page_image_and_link.json"), languages=("nl",))
    assert page.kind == "Page" and page.name == "Post with image and link"
    assert page.audience == ("https://enterprise.lemmy.ml/c/tenforward",)
    assert page.to == ("https://enterprise.lemmy.ml/c/tenforward", PUBLIC)
    assert page.language == "fr"
    assert page.source == "This is a post with both an image and a link attachment"
    assert page.source_media_type == "text/markdown"
    assert page.context == "https://enterprise.lemmy.ml/post/55999/context"
    image, link = page.attachments
    assert (image.kind, image.url, image.media_type) == (
        "Image",
        "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png",
        "image/png",
    )
    assert (link.kind, link.url, link.media_type) == (
        "Link",
        "https://example.com/some-article",
        "text/html",
    )
    assert page.image_url == "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png"


def test_lemmy_page_tags_include_community_post_tag() -> None:
    page = normalize_object(load("lemmy/objects/page.json"))
    assert page.tags == (
        Tag(kind="CommunityPostTag", href="https://enterprise.lemmy.ml/c/tenforward/tag/news"),
        Tag(
            kind="Mention",
            href="https://enterprise.lemmy.ml/c/tenforward",
            name="@tenforward@enterprise.lemmy.ml",
        ),
    )


def test_lemmy_block_from_community() -> None:
    block = normalize_activity(load("lemmy/activities/block/block_user.json"))
    assert block.kind == "Block"
    assert block.object_id == "http://ds9.lemmy.ml/u/lemmy_alpha"
    assert block.target == "http://enterprise.lemmy.ml/c/main"
    assert block.summary == "spam post"
    assert block.end_time == datetime(2021, 11, 1, 12, 23, 50, 151874, tzinfo=UTC)
    assert block.audience == ("http://enterprise.lemmy.ml/u/main",)


def test_lemmy_announce_nests_create_page() -> None:
    announce = normalize_activity(load("lemmy/activities/community/announce_create_page.json"))
    assert announce.actor == "http://enterprise.lemmy.ml/c/main"
    assert announce.cc == ("http://enterprise.lemmy.ml/c/main/followers",)
    create = announce.object_activity
    assert create is not None and create.kind == "Create"
    assert create.actor == "http://enterprise.lemmy.ml/u/lemmy_beta"
    assert create.object is not None and create.object.kind == "Page"
    assert create.object.name == "post 4"
    assert create.object.published == datetime(2021, 11, 1, 12, 11, 22, 871846, tzinfo=UTC)


def test_lemmy_undo_lock_keeps_reason() -> None:
    undo = normalize_activity(load("lemmy/activities/community/undo_lock_page.json"))
    assert undo.summary == "A reason for the unlock"
    assert undo.object_activity is not None and undo.object_activity.kind == "Lock"
    assert undo.object_activity.object_id == "http://lemmy-alpha:8541/post/2"


def test_lotide_single_string_addressing() -> None:
    act = normalize_activity(load("lotide/activities/create_note_reply.json"))
    assert act.to == ("https://c.tide.tk/users/1",)
    assert act.cc == (PUBLIC, "https://c.tide.tk/communities/1")
    assert act.object is not None and act.object.to == ("https://c.tide.tk/users/1",)
    assert act.object.in_reply_to == "https://c.tide.tk/posts/51"


def test_friendica_content_differs_from_content_map() -> None:
    act = normalize_activity(load("friendica/activities/update_note.json"), languages=("de",))
    note = act.object
    assert note is not None
    assert note.content is not None and "This is an edited comment." in note.content
    assert note.content.startswith("<span class=\"h-card\">")
    assert note.content_map == {"de": "This is an edited comment."}
    assert note.language == "de" and note.summary is None
    assert note.source_media_type == "text/bbcode"
    assert note.updated == datetime(2022, 3, 24, 21, 37, 34, tzinfo=UTC)
    assert [t.href for t in note.tags] == [
        "https://pirati.ca/profile/test8",
        "https://ds9.lemmy.ml/c/testcom",
    ]


def test_wordpress_article() -> None:
    page = normalize_object(load("wordpress/objects/page.json"))
    assert page.kind == "Article" and page.id == "https://dbzer0.com/?p=27948"
    assert page.name == "An Epic 3D-Printed Fan Expansion for Last Light"
    assert page.name_map == {"en": page.name}
    assert page.summary_map and page.summary == page.summary_map["en"]
    assert page.language == "en"
    assert len(page.attachments) == 4
    assert page.attachments[0].name == "A fleet of varied spacships"
    assert [a.media_type for a in page.attachments] == [
        "image/png", "image/jpeg", "image/png", "image/jpeg",
    ]
    assert all(a.name is None for a in page.attachments[1:])


def test_wordpress_announce_of_update() -> None:
    act = normalize_activity(load("wordpress/activities/announce.json"))
    update = act.object_activity
    assert update is not None and update.kind == "Update"
    assert update.object is not None and update.object.kind == "Article"
    assert update.object.url == "https://pfefferle.org/lemmy-part-4/"


def test_pleroma_note_is_not_mistaken_for_an_activity() -> None:
    act = normalize_activity(load("pleroma/activities/create_note.json"))
    # Pleroma's Note carries an "actor" but no "object": it is not an activity.
    assert act.object is not None and act.object_activity is None
    assert act.object.source == "@lanodan@ds9.lemmy.ml test"
    assert act.object.source_media_type is None
    assert act.object.summary is None  # "" is no content warning
    assert act.object.context == "https://greenish.red/contexts/f6244742-0526-4b84-ac4f-ceadf1fb4e56"


def test_pleroma_person_emoji() -> None:
    person = normalize_object(load("pleroma/objects/person.json"))
    assert person.kind == "Person"
    assert person.tags[0] == Tag(
        kind="Emoji",
        href="https://queer.hacktivis.me/emoji/custom/symbols/anarchy.png",
        name=":anarchy:",
        icon_url="https://queer.hacktivis.me/emoji/custom/symbols/anarchy.png",
    )


def test_friendica_profile_fields() -> None:
    person = normalize_object(load("friendica/objects/person_2.json"))
    assert person.kind == "Organization"
    assert [(a.kind, a.name) for a in person.attachments] == [
        ("PropertyValue", "Telegram"),
        ("PropertyValue", "Mastodon"),
    ]
    assert person.attachments[0].value == "http://T.ME/PPINFORMA"
    assert person.attachments[0].url is None


def test_smithereen_mention_without_name() -> None:
    note = normalize_object(load("smithereen/objects/note.json"))
    assert note.tags == (Tag(kind="Mention", href="https://ds9.lemmy.ml/u/nutomic"),)
    assert note.replies == "https://friends.grishka.me/posts/66561/replies"


def test_gnusocial_in_conversation_is_the_context() -> None:
    note = normalize_object(load("gnusocial/objects/note.json"))
    assert note.context == "https://instance.gnusocial.test/conversation/1338"
    assert note.published == datetime(2022, 3, 1, 21, 0, 16, tzinfo=UTC)


def test_mitra_accept_by_reference() -> None:
    act = normalize_activity(load("mitra/activities/accept.json"))
    assert act.object is None and act.object_activity is None
    assert act.object_id == (
        "https://voyager.lemmy.ml/activities/follow/7d782f02-b91d-4455-b6c0-772540f00c2d"
    )


# --------------------------------------------------------------------------------------------
# Odd but valid shapes
# --------------------------------------------------------------------------------------------

NOTE_ID = "https://social.example/notes/1"
ANN = "https://social.example/users/ann"


def note(**fields: Any) -> dict[str, Any]:
    return {"id": NOTE_ID, "type": "Note", **fields}


def test_minimal_object_defaults() -> None:
    obj = normalize_object({"id": NOTE_ID, "type": "Note"})
    assert obj == AsObject(id=NOTE_ID, types=("Note",), kind="Note")
    assert obj.attributed_to == () and obj.content is None and obj.content_map == {}
    assert obj.url is None and obj.published is None and obj.location is None
    assert obj.attachments == () and obj.tags == () and obj.sensitive is False
    assert not obj.is_public and obj.addressed == () and obj.hidden_recipients == ()


@pytest.mark.parametrize(
    ("value", "types", "kind"),
    [
        ("Note", ("Note",), "Note"),
        (["Note", "Article"], ("Note", "Article"), "Note"),
        (["schema:Thing", "Video"], ("schema:Thing", "Video"), "Video"),
        (["Hashtag", "Hashtag"], ("Hashtag",), "Hashtag"),
        ("as:Note", ("Note",), "Note"),
        ("https://www.w3.org/ns/activitystreams#Page", ("Page",), "Page"),
        (["pu:Initiative"], ("pu:Initiative",), "pu:Initiative"),
        ("Lock", ("Lock",), "Lock"),
    ],
)
def test_type_arrays_and_kind(value: Any, types: tuple[str, ...], kind: str) -> None:
    assert types_of(value) == types
    obj = normalize_object(note(type=value))
    assert (obj.types, obj.kind) == (types, kind)


def test_unknown_type_is_kept() -> None:
    obj = normalize_object(note(type="Quest", content="<p>x</p>"))
    assert obj.kind == "Quest" and obj.content == "<p>x</p>"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://social.example/@ann/1", "https://social.example/@ann/1"),
        ({"type": "Link", "href": "https://social.example/@ann/1"}, "https://social.example/@ann/1"),
        (
            [
                {"type": "Link", "mediaType": "video/mp4", "href": "https://cdn.example/v.mp4"},
                {"type": "Link", "mediaType": "text/html", "href": "https://v.example/w/1"},
            ],
            "https://v.example/w/1",
        ),
        (["https://a.example/1", "https://b.example/2"], "https://a.example/1"),
        (["magnet:?xt=urn:btih:abc", "https://b.example/2"], "https://b.example/2"),
        ({"type": "Link"}, None),
        ("javascript:alert(1)", None),
        (3, None),
    ],
)
def test_url_shapes(url: Any, expected: str | None) -> None:
    assert normalize_object(note(url=url)).url == expected


def test_link_details_are_kept() -> None:
    obj = normalize_object(
        note(
            url={
                "type": "Link",
                "href": "https://a.example/p",
                "mediaType": "text/html",
                "name": "Read",
                "rel": "alternate",
                "width": "640",
                "height": 480.0,
            }
        )
    )
    assert obj.urls == (
        Link("https://a.example/p", "text/html", "Read", ("alternate",), 640, 480),
    )


def test_content_map_only_picks_preferred_language() -> None:
    doc = note(contentMap={"de": "<p>Hallo</p>", "nl": "<p>Hoi</p>", "en-GB": "<p>Hello</p>"})
    assert normalize_object(doc).content == "<p>Hallo</p>"  # no preference: first as sent
    assert normalize_object(doc).language == "de"
    nl = normalize_object(doc, languages=("nl", "en"))
    assert (nl.content, nl.language) == ("<p>Hoi</p>", "nl")
    en = normalize_object(doc, languages=("fr", "en"))  # en matches en-GB by primary subtag
    assert (en.content, en.language) == ("<p>Hello</p>", "en-GB")
    assert normalize_object(doc, languages="nl").content == "<p>Hoi</p>"  # a bare string
    assert nl.content_map == doc["contentMap"]


def test_content_wins_over_content_map_and_names_its_language() -> None:
    obj = normalize_object(
        note(content="<p>Hoi</p>", contentMap={"en": "<p>Hi</p>", "nl": "<p>Hoi</p>"}),
        languages=("en",),
    )
    assert (obj.content, obj.language) == ("<p>Hoi</p>", "nl")


def test_name_and_summary_maps() -> None:
    obj = normalize_object(
        note(nameMap={"nl": "Plein"}, summaryMap={"nl": "Kort"}, summary="   ", name="")
    )
    assert (obj.name, obj.summary, obj.language) == ("Plein", "Kort", "nl")
    assert obj.name_map == {"nl": "Plein"}


def test_language_sources() -> None:
    assert normalize_object(note(language={"identifier": "ko", "name": "x"})).language == "ko"
    assert normalize_object(note(language=[{"identifier": "fr"}, "de"])).language == "fr"
    assert normalize_object(note(inLanguage="nl")).language == "nl"
    assert normalize_object(note(inLanguage="und")).language is None
    assert normalize_object(note(language="not a tag!")).language is None
    assert normalize_object(note(contentMap={"und": "x"})).language is None


def test_attributed_to_mixed_list() -> None:
    obj = normalize_object(
        note(
            attributedTo=[
                {"type": "Person", "id": ANN},
                {"type": "Organization", "id": "https://social.example/orgs/city"},
                "https://social.example/users/bob",
                ANN,
                {"type": "Person"},
                42,
                ["https://nested.example/ignored"],
            ]
        )
    )
    assert obj.attributed_to == (
        ANN,
        "https://social.example/orgs/city",
        "https://social.example/users/bob",
    )


def test_actor_as_attribution_fallback() -> None:
    assert normalize_object(note(actor=ANN)).attributed_to == (ANN,)
    both = normalize_object(note(actor=ANN, attributedTo="https://social.example/groups/g"))
    assert both.attributed_to == ("https://social.example/groups/g",)


@pytest.mark.parametrize(
    "value",
    [
        "https://social.example/notes/0",
        {"id": "https://social.example/notes/0", "type": "Note", "content": "parent"},
        [{"id": "https://social.example/notes/0"}],
        {"type": "Link", "href": "https://social.example/notes/0"},
    ],
)
def test_in_reply_to_shapes(value: Any) -> None:
    assert normalize_object(note(inReplyTo=value)).in_reply_to == "https://social.example/notes/0"


def test_in_reply_to_garbage_is_none() -> None:
    for value in (None, "", "not a url", {"type": "Note"}, 5, [[["https://x.example/"]]]):
        assert normalize_object(note(inReplyTo=value)).in_reply_to is None


def test_single_tag_object_and_unusual_tags() -> None:
    one = normalize_object(
        note(tag={"type": "Hashtag", "href": "https://s.example/tags/a", "name": "#a"})
    )
    assert one.tags == (Tag(kind="Hashtag", href="https://s.example/tags/a", name="#a"),)
    many = normalize_object(
        note(
            tag=[
                {"type": "Emoji", "name": ":blob:", "icon": {"type": "Image", "url": "https://s.example/e.png"}},
                {"name": "#untyped"},
                {"type": ["Mention", "Link"], "href": ANN},
                {"type": "Hashtag"},
                "https://s.example/tags/string",
                None,
            ]
        )
    )
    assert many.tags == (
        Tag(kind="Emoji", name=":blob:", icon_url="https://s.example/e.png"),
        Tag(kind="Object", name="#untyped"),
        Tag(kind="Mention", href=ANN),
    )
    assert many.mentions == (ANN,)


def test_attachments_with_alt_text_and_url_shapes() -> None:
    obj = normalize_object(
        note(
            attachment=[
                # Pixelfed / Mastodon: url string, alt text in name.
                {"type": "Image", "mediaType": "image/jpeg", "url": "https://m.example/1.jpg",
                 "name": "A red bike", "blurhash": "LEHV6n", "focalPoint": [0.5, -0.25],
                 "width": 800, "height": 600},
                # Pleroma / Akkoma: url is a list of Links; the matching mediaType wins.
                {"type": "Document", "mediaType": "image/png", "name": "Chart", "url": [
                    {"type": "Link", "href": "https://m.example/2.webp", "mediaType": "image/webp"},
                    {"type": "Link", "href": "https://m.example/2.png", "mediaType": "image/png"},
                ]},
                # A Video whose url Links have no match for the attachment: the video/* one.
                {"type": "Video", "url": [
                    {"href": "https://m.example/v.m3u8", "mediaType": "application/x-mpegURL"},
                    {"href": "https://m.example/v.mp4", "mediaType": "video/mp4",
                     "width": 1920, "height": 1080},
                ]},
                # Alt text only in summary.
                {"type": "Audio", "url": {"type": "Link", "href": "https://m.example/a.ogg"},
                 "summary": "Birdsong"},
                # Lemmy link post.
                {"type": "Link", "href": "https://news.example/article"},
                # A bare URL string.
                "https://m.example/doc.pdf",
                # Unusable entries are dropped.
                {"type": "Image"}, {"type": "Image", "url": "ftp://m.example/x"}, 17, None,
            ]
        )
    )
    image, chart, video, audio, link, doc = obj.attachments
    assert image == Attachment(
        kind="Image", url="https://m.example/1.jpg", media_type="image/jpeg", name="A red bike",
        width=800, height=600, blurhash="LEHV6n", focal_point=(0.5, -0.25),
        links=(Link("https://m.example/1.jpg"),),
    )
    assert (chart.url, chart.media_type, chart.name) == (
        "https://m.example/2.png", "image/png", "Chart",
    )
    assert len(chart.links) == 2
    assert (video.url, video.media_type, video.width, video.height) == (
        "https://m.example/v.mp4", "video/mp4", 1920, 1080,
    )
    assert (audio.kind, audio.url, audio.name) == ("Audio", "https://m.example/a.ogg", "Birdsong")
    assert (link.kind, link.url) == ("Link", "https://news.example/article")
    assert (doc.kind, doc.url) == ("Link", "https://m.example/doc.pdf")


def test_attachment_single_object_and_bad_focal_point() -> None:
    obj = normalize_object(
        note(attachment={"type": "Image", "url": "https://m.example/1.jpg", "focalPoint": [2, 0]})
    )
    (image,) = obj.attachments
    assert image.focal_point is None and image.kind == "Image"


def test_event_with_location_shapes() -> None:
    event = normalize_object(
        {
            "id": "https://events.example/e/1",
            "type": "Event",
            "name": "Square meeting",
            "startTime": "2026-05-01T19:00:00+02:00",
            "endTime": "2026-05-01T21:30:00+02:00",
            "location": {
                "type": "Place",
                "name": "Town hall",
                "address": "Markt 1, Delft",
                "latitude": "52.0116",
                "longitude": 4.3571,
            },
        }
    )
    assert event.start_time == datetime(2026, 5, 1, 17, 0, tzinfo=UTC)
    assert event.end_time == datetime(2026, 5, 1, 19, 30, tzinfo=UTC)
    assert event.location == Place(
        name="Town hall", address="Markt 1, Delft", latitude=52.0116, longitude=4.3571
    )
    assert normalize_object(note(location="https://places.example/p/1")).location == Place(
        id="https://places.example/p/1"
    )
    assert normalize_object(note(location="Town hall")).location == Place(name="Town hall")
    bad = normalize_object(note(location={"name": "X", "latitude": 123, "longitude": "east"}))
    assert bad.location == Place(name="X")
    assert normalize_object(note(location=[{}, {"name": "Second"}])).location == Place(
        name="Second"
    )
    assert normalize_object(note(location={"type": "Place"})).location is None


@pytest.mark.parametrize(
    "fields",
    [
        {"quote": "https://q.example/n/1"},  # FEP-044f (Mastodon 4.4+)
        {"quoteUrl": "https://q.example/n/1"},  # Misskey, Pleroma, Akkoma
        {"quoteUri": "https://q.example/n/1"},  # Fedibird
        {"_misskey_quote": "https://q.example/n/1"},  # Misskey
        {
            "tag": [
                {
                    "type": "Link",
                    "mediaType": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                    "href": "https://q.example/n/1",
                    "name": "RE: https://q.example/n/1",
                }
            ]
        },  # FEP-e232
        {
            "tag": {
                "type": "Link",
                "mediaType": "application/activity+json",
                "rel": "https://misskey-hub.net/ns#_misskey_quote",
                "href": "https://q.example/n/1",
            }
        },
    ],
)
def test_quote_shapes(fields: dict[str, Any]) -> None:
    assert normalize_object(note(**fields)).quote == "https://q.example/n/1"


def test_plain_link_tag_is_not_a_quote() -> None:
    obj = normalize_object(note(tag={"type": "Link", "href": "https://q.example/n/1"}))
    assert obj.quote is None


def test_addressing_aliases_bto_bcc_and_audience() -> None:
    obj = normalize_object(
        note(
            to="as:Public",
            cc=["Public", ANN, {"id": "https://social.example/users/bob"}, ANN, "", None, 3],
            bto="https://social.example/users/carol",
            bcc=["https://social.example/users/dave"],
            audience={"type": "Group", "id": "https://tribes.example/tribes/g"},
        )
    )
    assert obj.to == (PUBLIC,)
    assert obj.cc == (PUBLIC, ANN, "https://social.example/users/bob")
    assert obj.is_public
    assert obj.hidden_recipients == (
        "https://social.example/users/carol",
        "https://social.example/users/dave",
    )
    assert obj.addressed == (
        PUBLIC,
        ANN,
        "https://social.example/users/bob",
        "https://social.example/users/carol",
        "https://social.example/users/dave",
        "https://tribes.example/tribes/g",
    )


def test_bto_bcc_only_delivery_is_seen() -> None:
    act = normalize_activity(
        {
            "id": "https://friendica.example/objects/1/Create",
            "type": "Create",
            "actor": ANN,
            "bcc": ["https://tribes.example/users/zoe"],
            "object": note(bto="https://tribes.example/users/zoe"),
        }
    )
    assert act.to == () and act.cc == () and not act.is_public
    assert act.addressed == ("https://tribes.example/users/zoe",)
    assert act.object is not None
    assert act.object.hidden_recipients == ("https://tribes.example/users/zoe",)


def test_dates_tolerate_garbage() -> None:
    obj = normalize_object(
        note(published="2020-01-17T01:38:22.348392123+02:00", updated="yesterday")
    )
    assert obj.published == datetime(2020, 1, 16, 23, 38, 22, 348392, tzinfo=UTC)
    assert obj.updated is None
    for bad in ("", "   ", 1700000000, {"@value": "2020-01-01"}, "9999-12-31T23:59:59-23:59"):
        assert normalize_object(note(published=bad)).published is None


def test_sensitive_only_when_true() -> None:
    assert normalize_object(note(sensitive=True)).sensitive is True
    values: tuple[Any, ...] = (None, "true", 1, False, [])
    for value in values:
        assert normalize_object(note(sensitive=value)).sensitive is False


def test_context_and_conversation() -> None:
    obj = normalize_object(
        note(
            context={"type": "Collection", "id": "https://forum.example/topic/1"},
            conversation="tag:social.example,2026-01-01:objectId=1:objectType=Conversation",
        )
    )
    assert obj.context == "https://forum.example/topic/1"
    assert obj.conversation.startswith("tag:social.example") if obj.conversation else False
    assert normalize_object(note(context="javascript:alert(1)")).context is None
    assert normalize_object(note(context="urn:uuid:1234")).context == "urn:uuid:1234"


def test_icon_and_image_shapes() -> None:
    obj = normalize_object(
        note(
            icon="https://s.example/i.png",
            image=[
                {"type": "Image", "url": "https://s.example/small.png", "width": 10, "height": 10},
                {"type": "Image", "url": {"href": "https://s.example/big.png"},
                 "width": 99, "height": 99},
            ],
        )
    )
    assert obj.icon_url == "https://s.example/i.png"
    assert obj.image_url == "https://s.example/big.png"


def test_references_with_user_info_or_bad_hosts_are_dropped() -> None:
    obj = normalize_object(
        note(
            attributedTo=[
                "https://trusted.example@evil.example/users/x",
                "https://evil.example\\.trusted.example/users/x",
                "https://:443/users/x",
                ANN,
            ]
        )
    )
    assert obj.attributed_to == (ANN,)


def test_activity_actor_list_and_embedded_actor() -> None:
    act = normalize_activity(
        {
            "id": "https://s.example/a/1",
            "type": "Like",
            "actor": [{"type": "Person", "id": ANN}, "https://s.example/users/bob", "junk"],
            "object": "https://t.example/n/1",
            "target": {"id": "https://t.example/c/1", "type": "Collection"},
            "origin": "https://t.example/c/0",
        }
    )
    assert act.actor == ANN and act.actors == (ANN, "https://s.example/users/bob")
    assert act.target == "https://t.example/c/1" and act.origin == "https://t.example/c/0"
    assert act.object_ids == ("https://t.example/n/1",)


def test_activity_object_shapes() -> None:
    base = {"id": "https://s.example/a/1", "type": "Create", "actor": ANN}
    anonymous = normalize_activity({**base, "object": {"type": "Note", "content": "hi"}})
    assert anonymous.object is not None and anonymous.object.id is None
    assert anonymous.object.content == "hi" and anonymous.object_id is None
    bare = normalize_activity({**base, "object": {"content": "neither id nor type"}})
    assert bare.object is None and bare.object_raw == {"content": "neither id nor type"}
    link = normalize_activity({**base, "object": {"type": "Link", "href": "https://t.example/1"}})
    assert link.object_id == "https://t.example/1"
    assert link.object is not None and link.object.kind == "Link"
    missing = normalize_activity(base)
    assert missing.object is None and missing.object_id is None and missing.object_ids == ()


def test_embedded_activity_without_id_is_not_an_activity() -> None:
    accept = normalize_activity(
        {
            "id": "https://s.example/accept/1",
            "type": "Accept",
            "actor": ANN,
            # Some servers embed the Follow they accept without its id.
            "object": {"type": "Follow", "actor": "https://t.example/u/b", "object": ANN},
        }
    )
    assert accept.object is not None and accept.object.kind == "Follow"
    assert accept.object_activity is None and accept.object_id is None


def test_embedded_activity_with_bad_actor_is_dropped_not_fatal() -> None:
    undo = normalize_activity(
        {
            "id": "https://s.example/undo/1",
            "type": "Undo",
            "actor": ANN,
            "object": {"id": "https://s.example/like/1", "type": "Like", "actor": {"x": 1},
                       "object": "https://t.example/n/1"},
        }
    )
    assert undo.object_activity is None and undo.object_id == "https://s.example/like/1"


def test_nesting_depth_is_bounded() -> None:
    doc: dict[str, Any] = {"id": "https://s.example/n", "type": "Note"}
    for i in range(60):
        doc = {"id": f"https://s.example/u/{i}", "type": "Undo", "actor": ANN, "object": doc}
    act: AsActivity | None = normalize_activity(doc)
    depth = 0
    while act is not None:
        depth += 1
        act = act.object_activity
    assert depth == 5


def test_values_are_frozen() -> None:
    obj = normalize_object(note())
    with pytest.raises(FrozenInstanceError):
        obj.content = "changed"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        Tag(kind="Mention").href = "x"  # type: ignore[misc]


def test_raw_is_not_part_of_equality() -> None:
    a = normalize_object(note(extra=1))
    b = normalize_object(note(extra=2))
    assert a == b and a.raw != b.raw


# --------------------------------------------------------------------------------------------
# Malformed documents
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (["not", "a", "dict"], "list, not a JSON object"),
        ("https://s.example/n/1", "str, not a JSON object"),
        (None, "NoneType, not a JSON object"),
        ({"type": "Note"}, "id is missing"),
        ({"id": 5, "type": "Note"}, "id int is not"),
        ({"id": {"id": NOTE_ID}, "type": "Note"}, "id dict is not"),
        ({"id": "", "type": "Note"}, "is not an absolute"),
        ({"id": "/notes/1", "type": "Note"}, "is not an absolute"),
        ({"id": "ftp://s.example/n/1", "type": "Note"}, "is not an absolute"),
        ({"id": "http://[::1", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example:99999/n", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example:port/n", "type": "Note"}, "is not an absolute"),
        ({"id": "https:///n/1", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example/n 1", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example/n\x001", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example/n/1\n", "type": "Note"}, "is not an absolute"),
        ({"id": "https://user:pw@s.example/n/1", "type": "Note"}, "is not an absolute"),
        ({"id": "https://s.example/" + "a" * 5000, "type": "Note"}, "is not an absolute"),
        ({"id": NOTE_ID}, "type is missing"),
        ({"id": NOTE_ID, "type": None}, "type is missing"),
        ({"id": NOTE_ID, "type": {"name": "Note"}}, "type holds a dict"),
        ({"id": NOTE_ID, "type": 7}, "type holds a int"),
        ({"id": NOTE_ID, "type": []}, "type is an empty array"),
        ({"id": NOTE_ID, "type": ["Note", 1]}, "type holds a int"),
        ({"id": NOTE_ID, "type": ["Note", ["Article"]]}, "type holds a list"),
        ({"id": NOTE_ID, "type": "  "}, "empty or overlong"),
        ({"id": NOTE_ID, "type": ["Note"] * 40}, "more than 32"),
    ],
)
def test_malformed_objects(doc: Any, reason: str) -> None:
    with pytest.raises(Malformed, match=reason.replace("[", r"\[")) as caught:
        normalize_object(doc)
    assert caught.value.reason == str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_anonymous_objects_need_the_flag() -> None:
    with pytest.raises(Malformed, match="id is missing"):
        normalize_object({"type": "Note"})
    assert normalize_object({"type": "Note"}, allow_anonymous=True).id is None
    # The flag does not excuse a present but unusable id.
    with pytest.raises(Malformed, match="not an absolute"):
        normalize_object({"id": "x", "type": "Note"}, allow_anonymous=True)


ACT = {"id": "https://s.example/a/1", "type": "Follow", "object": "https://t.example/g"}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({k: v for k, v in ACT.items() if k != "id"} | {"actor": ANN}, "id is missing"),
        (ACT, "actor is missing"),
        (ACT | {"actor": None}, "actor is missing"),
        (ACT | {"actor": {"type": "Person"}}, "actor is not an absolute"),
        (ACT | {"actor": 12}, "actor is not an absolute"),
        (ACT | {"actor": "acct:ann@s.example"}, "actor is not an absolute"),
        (ACT | {"actor": []}, "actor is not an absolute"),
        (ACT | {"actor": [["https://s.example/u"]]}, "actor is not an absolute"),
        (ACT | {"actor": ANN, "type": ["Follow", None]}, "type holds a NoneType"),
        (ACT | {"actor": ANN, "object": {"id": "nope", "type": "Note"}}, "object: id 'nope'"),
        (ACT | {"actor": ANN, "object": {"id": NOTE_ID, "type": 3}}, "object: type holds a int"),
        (ACT | {"actor": ANN, "object": {"id": NOTE_ID}}, "object: type is missing"),
    ],
)
def test_malformed_activities(doc: Any, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        normalize_activity(doc)


# --------------------------------------------------------------------------------------------
# Garbage never raises anything but Malformed
# --------------------------------------------------------------------------------------------

FIELDS = [
    "id", "type", "actor", "object", "target", "origin", "to", "cc", "bto", "bcc", "audience",
    "attributedTo", "content", "contentMap", "name", "nameMap", "summary", "summaryMap",
    "language", "inLanguage", "mediaType", "source", "url", "inReplyTo", "published",
    "updated", "context", "conversation", "inConversation", "attachment", "tag", "sensitive",
    "startTime", "endTime", "location", "quote", "quoteUrl", "quoteUri", "_misskey_quote",
    "replies", "icon", "image",
]


def deep(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"id": value, "type": value, "url": value, "href": value}
    return value


def garbage(rng: random.Random, depth: int = 0) -> Any:
    scalars: list[Any] = [
        None, True, False, 0, -1, 2**70, 1.5, float("nan"), float("inf"), "", " ", "\x00",
        "x" * 300, "https://ok.example/a", "http://[::1", "as:Public", "2020-01-01T00:00:00Z",
        "Note", "ünïcødé", "https://u@h.example/", "tag:x,2020:1", [], {},
    ]
    if depth >= 3 or rng.random() < 0.45:
        return rng.choice(scalars)
    if rng.random() < 0.5:
        return [garbage(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [*rng.sample(FIELDS, 3), "href", "identifier", "address", "width", "focalPoint"]
    return {rng.choice(keys): garbage(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _must_not_crash(doc: Any) -> None:
    for call in (
        lambda: normalize_object(doc, languages=("nl", "en")),
        lambda: normalize_object(doc, allow_anonymous=True),
        lambda: normalize_activity(doc, languages=("en",)),
    ):
        try:
            result = call()
        except Malformed as exc:
            assert exc.reason
        else:
            assert isinstance(result, (AsObject, AsActivity))
            repr(result)  # every field is printable


VALID_NOTE = note(
    attributedTo=ANN, content="<p>x</p>", to=[PUBLIC], url="https://social.example/@ann/1",
    attachment=[{"type": "Image", "url": "https://m.example/1.jpg"}],
    tag=[{"type": "Mention", "href": ANN}], location={"name": "X"},
)
VALID_CREATE = {
    "id": "https://social.example/notes/1/activity",
    "type": "Create",
    "actor": ANN,
    "to": [PUBLIC],
    "object": VALID_NOTE,
}


@pytest.mark.parametrize("seed", range(40))
def test_garbage_fields_raise_only_malformed(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        doc = copy.deepcopy(rng.choice([VALID_NOTE, VALID_CREATE]))
        target = doc if rng.random() < 0.6 or "object" not in doc else doc["object"]
        for key in rng.sample(FIELDS, rng.randint(1, 8)):
            target[key] = garbage(rng)
        _must_not_crash(doc)
        _must_not_crash(garbage(rng))


def test_every_field_with_every_scalar_and_deep_nesting() -> None:
    values: list[Any] = [
        None, 0, 3.5, float("nan"), True, "", "x", [], {}, [[[]]], [None, [1, [2]]],
        {"id": {"id": {"id": "https://x.example/"}}}, [{"href": ["https://x.example/"]}],
        deep(3000, "https://x.example/"), deep(3000, None),
    ]
    for key in FIELDS:
        for value in values:
            _must_not_crash({**VALID_NOTE, key: value})
            _must_not_crash({**VALID_CREATE, key: value})
            _must_not_crash({**VALID_CREATE, "object": {**VALID_NOTE, key: value}})


def test_garbage_keeps_valid_fields_usable() -> None:
    obj = normalize_object(
        {**VALID_NOTE, "published": {"x": 1}, "tag": [[{"type": "Mention"}]], "url": [[1]]}
    )
    assert obj.attributed_to == (ANN,) and obj.content == "<p>x</p>"
    assert obj.published is None and obj.tags == () and obj.url is None
