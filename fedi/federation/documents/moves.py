"""Moves (FEP-7628) and suspension in actor documents, both ways.

Ours: a person's aliases go out as ``alsoKnownAs``, the account they moved to as
``movedTo``, and a suspension as Mastodon's ``suspended: true``. Theirs: the same three
fields of a fetched remote actor become ``also_known_as``, ``moved_to`` and
``suspended_at`` on its row (Mastodon marks an account its own server suspended the same
way, and lifts it when a later copy no longer says so).
"""

from __future__ import annotations

from typing import Any

from activitypub.vocab import as_list, id_of
from models import Actor, utcnow

__all__ = ["aliases_in", "move_fields", "remote_move_values", "suspended_document"]

MAX_ALIASES = 20


def aliases_in(doc: dict[str, Any]) -> list[str]:
    """The ``alsoKnownAs`` ids of an actor document (at most :data:`MAX_ALIASES`)."""
    found: list[str] = []
    for entry in as_list(doc.get("alsoKnownAs")):
        ident = id_of(entry)
        if ident and ident not in found and len(ident) <= 2048:
            found.append(ident)
    return found[:MAX_ALIASES]


def move_fields(actor: Actor) -> dict[str, Any]:
    """The move and suspension fields of a local person's document (only those set)."""
    fields: dict[str, Any] = {}
    if actor.also_known_as:
        fields["alsoKnownAs"] = list(actor.also_known_as)
    if actor.moved_to:
        fields["movedTo"] = actor.moved_to
    if actor.suspended_at is not None:
        fields["suspended"] = True
    return fields


# What a suspended account's document keeps (Mastodon's): who it is, where to reach it and
# its key, so that servers can still verify what it signed and see the flag; no profile.
_SUSPENDED_KEEPS = (
    "@context", "id", "type", "preferredUsername", "inbox", "outbox", "followers",
    "following", "endpoints", "publicKey", "url", "published", "manuallyApprovesFollowers",
    "movedTo", "alsoKnownAs",
)


def suspended_document(document: dict[str, Any]) -> dict[str, Any]:
    """The actor ``document`` of a suspended account: profile left out, ``suspended: true``."""
    kept = {key: value for key, value in document.items() if key in _SUSPENDED_KEEPS}
    kept["name"] = document.get("preferredUsername", "")
    kept["summary"] = ""
    kept["suspended"] = True
    return kept


def remote_move_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Columns of a remote actor's row read from its document."""
    moved = id_of(doc.get("movedTo"))
    return {
        "also_known_as": aliases_in(doc),
        "moved_to": moved if moved and len(moved) <= 2048 else None,
        "suspended_at": utcnow() if doc.get("suspended") is True else None,
    }
