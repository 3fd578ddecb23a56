"""A tribe as an ActivityStreams ``Group`` actor document (FEP-1b12).

Lemmy reads ``attributedTo`` as the moderators collection and ``featured`` for pinned posts;
Mobilizon reads ``members``; Mastodon shows a ``Group`` like any account and honours
``manuallyApprovesFollowers`` (a lock and follow requests for approval and invite tribes).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from activitypub.builders import build_actor
from fedi.domain import media
from fedi.federation.documents.actors import actor_context
from fedi.settings import Settings
from models import Tribe


def collection_urls(group_id: str) -> dict[str, str]:
    """The URLs of a Group's collections, by name."""
    return {
        name: f"{group_id}/{name}"
        for name in ("inbox", "outbox", "followers", "following", "members", "moderators",
                     "featured")
    }


def group_document(settings: Settings, tribe: Tribe) -> dict[str, Any]:
    """The ``Group`` document of a local tribe (``tribe.actor`` must be loaded)."""
    actor = tribe.actor
    urls = collection_urls(actor.ap_id)
    extra: dict[str, Any] = {
        # Lemmy: attributedTo is the moderators collection; its members may moderate.
        "attributedTo": urls["moderators"],
        "moderators": urls["moderators"],
        "members": urls["members"],
        "featured": urls["featured"],
        "postingRestrictedToMods": False,
        "tag": [
            {
                "type": "Hashtag",
                "name": "#" + tag.replace(" ", "_"),
                "href": settings.url(f"/tribes?tag={quote(tag, safe='')}"),
            }
            for tag in tribe.tags or []
        ],
        "pu:joinMode": tribe.join_mode,
        "pu:theme": tribe.theme,
    }
    if tribe.description_source:
        # Lemmy shows and edits the markdown source of a community's description.
        extra["source"] = {"content": tribe.description_source, "mediaType": "text/markdown"}
    if tribe.location:
        extra["location"] = {"type": "Place", "name": tribe.location}
    if tribe.language:
        extra["pu:language"] = tribe.language
    image = None
    if tribe.image_path:
        image = {
            "type": "Image",
            "mediaType": media.media_type_of(tribe.image_path),
            "url": media.media_url(settings, tribe.image_path),
        }
        extra["icon"] = image
        extra["image"] = dict(image)
    return build_actor(
        actor_id=actor.ap_id,
        actor_type="Group",
        username=actor.username,
        name=tribe.name,
        summary_html=tribe.description_html or "",
        url=actor.url or settings.url(f"/tribes/{tribe.slug}"),
        inbox=actor.inbox or urls["inbox"],
        outbox=actor.outbox or urls["outbox"],
        followers=actor.followers_url or urls["followers"],
        following=actor.following_url or urls["following"],
        shared_inbox=actor.shared_inbox or settings.url("/inbox"),
        public_key_pem=actor.public_key_pem or "",
        manually_approves=tribe.join_mode != "open",
        discoverable=actor.discoverable,
        published=tribe.created_at,
        extra=extra,
        context=actor_context(settings),
    )
