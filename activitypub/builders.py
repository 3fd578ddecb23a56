"""Plain functions building ActivityStreams documents as dicts (no I/O, no persistence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .timefmt import format_datetime, parse_datetime
from .vocab import AS_CONTEXT, SECURITY_CONTEXT

__all__ = [
    "build_accept",
    "build_activity",
    "build_actor",
    "build_add",
    "build_announce",
    "build_block",
    "build_create",
    "build_delete",
    "build_dislike",
    "build_flag",
    "build_follow",
    "build_invite",
    "build_join",
    "build_leave",
    "build_like",
    "build_note",
    "build_offer",
    "build_person",
    "build_public_key",
    "build_reject",
    "build_remove",
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
    indexable: bool | None = None,
) -> dict[str, Any]:
    """Build an actor document (Person, Group, Application...).

    ``indexable`` (Mastodon 4.2+: whether public posts may be indexed for full-text search)
    follows ``discoverable`` unless given.

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
        "indexable": discoverable if indexable is None else indexable,
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


def build_activity(
    kind: str,
    id: str,
    actor: str,
    object: Any,
    *,
    target: str | None = None,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
    ld_context: Context | None = AS_CONTEXT,
    **extra: Any,
) -> dict[str, Any]:
    """Build any activity: the general shape the specific builders below use.

    ``object`` is a bare id or an embedded document (its ``@context`` is dropped, as in
    :func:`build_create`). ``target``, ``to``, ``cc``, ``audience`` and ``published`` are only
    written when given; ``audience`` keeps its shape (Lemmy sends and expects one string).
    ``ld_context`` is the ``@context`` (``None`` for an activity that will only be embedded);
    the ActivityStreams ``context`` property (the thread) can be passed in ``extra``.
    ``extra`` adds properties by their JSON name (``summary``, ``content``, ``endTime``...);
    ``None`` values are left out. ``bto`` and ``bcc`` are refused: ActivityPub requires them
    to be stripped before delivery, so an outgoing activity never carries them.
    """
    for hidden in ("bto", "bcc"):
        if hidden in extra:
            raise ValueError(f"{hidden} must never be sent; deliver to those inboxes instead")
    doc = _activity(kind, id, actor, _strip_context(object), ld_context)
    if target is not None:
        doc["target"] = target
    if to is not None:
        doc["to"] = list(to)
    if cc is not None:
        doc["cc"] = list(cc)
    if audience is not None:
        doc["audience"] = audience if isinstance(audience, str) else list(audience)
    if published is not None:
        doc["published"] = _ts(published)
    doc.update({key: value for key, value in extra.items() if value is not None})
    return doc


def build_add(
    id: str,
    actor: str,
    object: Any,
    target: str,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Add{object}`` to the ``target`` collection.

    Lemmy shapes: a moderator added to ``<group>/moderators``, a post pinned to
    ``<group>/featured``; both with the group as ``audience``.
    """
    return build_activity(
        "Add", id, actor, object, target=target, to=to, cc=cc, audience=audience,
        published=published,
    )


def build_remove(
    id: str,
    actor: str,
    object: Any,
    target: str,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Remove{object}`` from the ``target`` collection (the counterpart of
    :func:`build_add`; also a moderator's removal of a post from a group's outbox)."""
    return build_activity(
        "Remove", id, actor, object, target=target, to=to, cc=cc, audience=audience,
        published=published,
    )


def build_offer(
    id: str,
    actor: str,
    object: Any,
    *,
    target: str | None = None,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Offer{object}`` (a contribution offered, ``target`` the task it is for)."""
    return build_activity(
        "Offer", id, actor, object, target=target, to=to, cc=cc, audience=audience,
        published=published,
    )


def build_join(
    id: str,
    actor: str,
    object: str,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Join{group or event}``; Mobilizon answers it with ``Accept``/``Reject``."""
    return build_activity("Join", id, actor, object, to=to, cc=cc, published=published)


def build_leave(
    id: str,
    actor: str,
    object: str,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Leave{group or event}``, the counterpart of :func:`build_join`."""
    return build_activity("Leave", id, actor, object, to=to, cc=cc, published=published)


def build_invite(
    id: str,
    actor: str,
    object: str,
    target: str,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Invite{object: group, target: invitee}`` in Mobilizon's shape.

    ``to`` defaults to the invitee, who answers with ``Accept``/``Reject`` of the Invite.
    """
    return build_activity(
        "Invite", id, actor, object, target=target, to=[target] if to is None else to, cc=cc,
        published=published,
    )


def build_flag(
    id: str,
    actor: str,
    object: str | Sequence[str],
    *,
    comment: str | None = None,
    to: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build a report: ``Flag`` of an account and/or the objects reported.

    One id is sent as a string (Lemmy reads a single object), several as a list (Mastodon
    sends the account followed by its statuses). ``comment`` goes into both ``content``
    (read by Mastodon) and ``summary`` (read by Lemmy), as Mbin does.
    """
    ids = [object] if isinstance(object, str) else list(object)
    if not ids:
        raise ValueError("a Flag needs at least one object")
    return build_activity(
        "Flag", id, actor, ids[0] if len(ids) == 1 else ids, to=to, audience=audience,
        published=published, content=comment, summary=comment,
    )


def build_block(
    id: str,
    actor: str,
    object: str,
    *,
    target: str | None = None,
    reason: str | None = None,
    expires: datetime | str | None = None,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    published: datetime | str | None = None,
) -> dict[str, Any]:
    """Build ``Block{object}``.

    Without ``target`` it is a personal block (Mastodon). With ``target`` (a group) it is a
    ban from that group in Lemmy's shape: ``summary`` holds the ``reason`` and ``endTime``
    the expiry of a temporary ban.
    """
    return build_activity(
        "Block", id, actor, object, target=target, to=to, cc=cc, audience=audience,
        published=published, summary=reason, endTime=_ts(expires),
    )


def build_dislike(
    id: str, actor: str, object_id: str, *, audience: str | None = None
) -> dict[str, Any]:
    """Build ``Dislike{object_id}`` (a Lemmy downvote; Lemmy sends the group as audience)."""
    return build_activity("Dislike", id, actor, object_id, audience=audience)


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
