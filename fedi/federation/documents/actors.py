"""Turning our rows into ActivityStreams documents (actors first; objects follow later).

The shapes come from ``activitypub.builders``; this module only knows where our data lives
(profile fields, avatar files, talents) and which URLs we use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from activitypub.builders import build_actor
from activitypub.vocab import default_context
from fedi.domain import media
from fedi.domain.local_actors import followers_url_of
from fedi.domain.profiles import stored_links
from fedi.federation.documents.moves import move_fields
from fedi.settings import Settings
from fedi.text import PROFILE_LINK_REL, link_html
from models import Actor

# Our JSON-LD namespace: the "pu:" prefix of extension terms expands to this IRI.
NAMESPACE_PATH = "/ns"
# Terms Mastodon puts in its own actor contexts that the shared extension context lacks.
_EXTRA_TERMS = {
    "Hashtag": "as:Hashtag",
    # Moves and suspension (issue 12), as Mastodon's actor context declares them.
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "suspended": "http://joinmastodon.org/ns#suspended",
}


def namespace_url(settings: Settings) -> str:
    """The IRI of our JSON-LD namespace (``{base}/ns``)."""
    return settings.url(NAMESPACE_PATH)


def actor_context(settings: Settings) -> list[Any]:
    """The ``@context`` of our actor documents: AS, security, our terms and Hashtag."""
    context = default_context(namespace_url(settings))
    return [*context, dict(_EXTRA_TERMS)]


def talent_url(settings: Settings, tag: str) -> str:
    """The directory page listing the people with talent ``tag``."""
    return settings.url(f"/people?talent={quote(tag, safe='')}")


def talent_hashtags(settings: Settings, tags: list[str]) -> list[dict[str, str]]:
    """Talents as ``Hashtag`` objects, the way Mastodon shows featured tags on a profile."""
    return [
        {"type": "Hashtag", "name": "#" + tag.replace(" ", "_"), "href": talent_url(settings, tag)}
        for tag in tags
    ]


def person_document(settings: Settings, actor: Actor) -> dict[str, Any]:
    """The ``Person`` document of a local person (``actor.talents`` must be loaded).

    Links become ``PropertyValue`` attachments whose value is an ``<a rel="me">``, exactly as
    Mastodon publishes profile fields, so Mastodon shows them and can verify them.
    """
    tags = [talent.tag for talent in actor.talents]
    attachment = [
        {
            "type": "PropertyValue",
            "name": link.label,
            "value": link_html(link.url, rel=PROFILE_LINK_REL),
        }
        for link in stored_links(actor)
    ]
    extra: dict[str, Any] = {
        "tag": talent_hashtags(settings, tags),
        "talents": tags,
        # Languages as BCP 47 codes; the "pu:" prefix is declared in our context.
        "pu:languages": list(actor.languages or []),
    }
    if actor.avatar_path:
        # Mastodon reads mediaType to decide whether it may fetch and resize the image.
        extra["icon"] = {
            "type": "Image",
            "mediaType": media.media_type_of(actor.avatar_path),
            "url": media.media_url(settings, actor.avatar_path),
        }
    if actor.location:
        extra["location"] = {"type": "Place", "name": actor.location}
    # Moves (FEP-7628) and suspension (issue 12): fedi.federation.documents.moves.
    extra.update(move_fields(actor))
    document = build_actor(
        actor_id=actor.ap_id,
        actor_type=actor.type,
        username=actor.username,
        name=actor.display_name or actor.username,
        summary_html=actor.bio_html or "",
        url=actor.url or settings.url(f"/@{actor.username}"),
        inbox=actor.inbox,
        outbox=actor.outbox or f"{actor.ap_id}/outbox",
        followers=followers_url_of(actor),
        following=actor.following_url or f"{actor.ap_id}/following",
        shared_inbox=actor.shared_inbox or settings.url("/inbox"),
        public_key_pem=actor.public_key_pem or "",
        manually_approves=actor.manually_approves_followers,
        discoverable=actor.discoverable,
        published=actor.created_at,
        attachment=attachment,
        extra=extra,
        context=actor_context(settings),
    )
    if isinstance(document.get("endpoints"), dict):
        # ActivityPub's C2S media upload (fedi.http.ap.outbox_media), for its clients.
        document["endpoints"]["uploadMedia"] = settings.url(f"/users/{actor.username}/uploadMedia")
    return document
