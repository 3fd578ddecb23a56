"""Plain functions building ActivityStreams documents as dicts (no I/O, no persistence)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .timefmt import format_datetime, parse_datetime
from .vocab import AS_CONTEXT, SECURITY_CONTEXT

__all__ = [
    "build_accept",
    "build_actor",
    "build_announce",
    "build_create",
    "build_delete",
    "build_follow",
    "build_like",
    "build_note",
    "build_person",
    "build_public_key",
    "build_reject",
    "build_tombstone",
    "build_undo",
    "build_update",
    "format_datetime",
    "ordered_collection",
    "ordered_collection_page",
    "parse_datetime",
]

Context = str | list[Any] | dict[str, Any]


def _ts(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_datetime(value)


def build_public_key(key_id: str, owner: str, pem: str) -> dict[str, str]:
    """Return the ``publicKey`` object Mastodon expects on an actor."""
    return {"id": key_id, "owner": owner, "publicKeyPem": pem}


def build_actor(
    *,
    actor_id: str,
    actor_type: str,
    username: str,
    name: str,
    summary_html: str,
    url: str,
    inbox: str,
    outbox: str,
    followers: str,
    following: str,
    shared_inbox: str,
    public_key_pem: str,
    icon_url: str | None = None,
    image_url: str | None = None,
    manually_approves: bool = False,
    discoverable: bool = True,
    published: datetime | str | None = None,
    attachment: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    context: Context | None = None,
) -> dict[str, Any]:
    """Build an actor document (Person, Group, Application...).

    The key id is ``{actor_id}#main-key``, the shape Mastodon uses; the fragment lets a key
    fetch return the actor itself. ``extra`` is merged last, for type-specific properties
    (e.g. a Group's ``attributedTo`` moderators collection). ``context`` defaults to the AS and
    security contexts; pass :func:`~activitypub.vocab.default_context` to add our terms.
    """
    doc: dict[str, Any] = {
        "@context": context if context is not None else [AS_CONTEXT, SECURITY_CONTEXT],
        "id": actor_id,
        "type": actor_type,
        "preferredUsername": username,
        "name": name,
        "summary": summary_html,
        "url": url,
        "inbox": inbox,
        "outbox": outbox,
        "followers": followers,
        "following": following,
        "endpoints": {"sharedInbox": shared_inbox},
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": discoverable,
        "publicKey": build_public_key(f"{actor_id}#main-key", actor_id, public_key_pem),
    }
    if published is not None:
        doc["published"] = _ts(published)
    if icon_url:
        doc["icon"] = {"type": "Image", "url": icon_url}
    if image_url:
        doc["image"] = {"type": "Image", "url": image_url}
    if attachment:
        doc["attachment"] = attachment
    if extra:
        doc.update(extra)
    return doc


def build_person(**kwargs: Any) -> dict[str, Any]:
    """Build a ``Person`` actor; same keywords as :func:`build_actor` minus ``actor_type``."""
    return build_actor(actor_type="Person", **kwargs)


def _activity(
    kind: str, id: str, actor: str, obj: Any, context: Context | None = AS_CONTEXT
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if context is not None:
        doc["@context"] = context
    doc.update({"id": id, "type": kind, "actor": actor, "object": obj})
    return doc


def _strip_context(obj: Any) -> Any:
    # An embedded object must not carry its own @context; Mastodon ignores it but strict
    # JSON-LD processors would re-scope terms.
    if isinstance(obj, dict) and "@context" in obj:
        return {k: v for k, v in obj.items() if k != "@context"}
    return obj


def build_follow(id: str, actor: str, object: str) -> dict[str, Any]:
    """Build ``Follow{object}``; Mastodon sends exactly id/type/actor/object."""
    return _activity("Follow", id, actor, object)


def build_accept(id: str, actor: str, object_activity: Any) -> dict[str, Any]:
    """Build ``Accept`` of an activity (usually the embedded Follow/Join being accepted).

    The accepted activity is embedded, not referenced: Mastodon matches the Follow by its id
    but Lemmy and Mobilizon read its ``actor``/``object`` from the embedded copy.
    """
    return _activity("Accept", id, actor, _strip_context(object_activity))


def build_reject(id: str, actor: str, object_activity: Any) -> dict[str, Any]:
    """Build ``Reject`` of an activity, embedding it like :func:`build_accept`."""
    return _activity("Reject", id, actor, _strip_context(object_activity))


def build_undo(id: str, actor: str, object_activity: Any) -> dict[str, Any]:
    """Build ``Undo`` of an earlier activity, embedded so the receiver needn't fetch it."""
    return _activity("Undo", id, actor, _strip_context(object_activity))


def _addressed(
    kind: str, id: str, actor: str, obj: Any, to: list[str], cc: list[str]
) -> dict[str, Any]:
    doc = _activity(kind, id, actor, _strip_context(obj))
    doc["to"] = list(to)
    doc["cc"] = list(cc)
    return doc


def build_create(
    id: str, actor: str, obj: dict[str, Any], to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build ``Create{obj}`` addressed like the object (Mastodon copies to/cc from it)."""
    return _addressed("Create", id, actor, obj, to, cc)


def build_update(
    id: str, actor: str, obj: dict[str, Any], to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build ``Update{obj}`` with the full new version of the object embedded."""
    return _addressed("Update", id, actor, obj, to, cc)


def build_delete(
    id: str, actor: str, object_id: str, to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build ``Delete`` of an object id.

    The object is a bare id, as Lemmy sends it; Mastodon sends a ``Tombstone`` wrapper but
    accepts a bare id too, and receivers can confirm the deletion by refetching (410).
    """
    return _addressed("Delete", id, actor, object_id, to, cc)


def build_like(id: str, actor: str, object_id: str) -> dict[str, Any]:
    """Build ``Like{object_id}`` (a Mastodon favourite)."""
    return _activity("Like", id, actor, object_id)


def build_announce(
    id: str,
    actor: str,
    object: Any,
    to: list[str],
    cc: list[str],
    published: datetime | str | None,
) -> dict[str, Any]:
    """Build ``Announce``: a bare object id (Mastodon boost) or an embedded activity (FEP-1b12)."""
    doc = _addressed("Announce", id, actor, object, to, cc)
    if published is not None:
        doc["published"] = _ts(published)
    return doc


def build_note(
    *,
    id: str,
    attributed_to: str,
    content_html: str,
    to: list[str],
    cc: list[str],
    published: datetime | str,
    url: str | None = None,
    in_reply_to: str | None = None,
    source_markdown: str | None = None,
    tags: list[dict[str, Any]] | None = None,
    sensitive: bool = False,
    summary: str | None = None,
) -> dict[str, Any]:
    """Build a ``Note`` object (without @context; wrap it in Create or add one when serving)."""
    doc: dict[str, Any] = {
        "id": id,
        "type": "Note",
        "attributedTo": attributed_to,
        "content": content_html,
        "to": list(to),
        "cc": list(cc),
        "published": _ts(published),
        "url": url or id,
        "inReplyTo": in_reply_to,
        "sensitive": sensitive,
        "summary": summary,
        "tag": list(tags or []),
    }
    if source_markdown is not None:
        doc["source"] = {"content": source_markdown, "mediaType": "text/markdown"}
    return doc


def build_tombstone(id: str, former_type: str, deleted: datetime | str) -> dict[str, Any]:
    """Build the ``Tombstone`` served (with 410) in place of a deleted object."""
    return {
        "@context": AS_CONTEXT,
        "id": id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": _ts(deleted),
    }


def ordered_collection(
    id: str,
    total_items: int,
    first: str | dict[str, Any] | None = None,
    ordered_items: list[Any] | None = None,
) -> dict[str, Any]:
    """Build an ``OrderedCollection``: either paged (``first``) or inline (``ordered_items``)."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total_items,
    }
    if first is not None:
        doc["first"] = first
    if ordered_items is not None:
        doc["orderedItems"] = ordered_items
    return doc


def ordered_collection_page(
    id: str,
    part_of: str,
    items: list[Any],
    next: str | None = None,
    prev: str | None = None,
    total_items: int | None = None,
) -> dict[str, Any]:
    """Build an ``OrderedCollectionPage`` of a collection."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next is not None:
        doc["next"] = next
    if prev is not None:
        doc["prev"] = prev
    if total_items is not None:
        doc["totalItems"] = total_items
    return doc
