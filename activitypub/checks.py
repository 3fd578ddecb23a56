"""Pure inbox-side checks: body parsing and who may speak for an activity."""

from __future__ import annotations

from typing import Any

import orjson

from .origin import origin_of, same_origin
from .vocab import id_of

__all__ = [
    "BadRequest",
    "OriginError",
    "check_activity_origin",
    "embedded_needs_fetch",
    "parse_json_body",
    "untrusted_embedded_ids",
]

_MAX_DEPTH = 8


class BadRequest(Exception):
    """The inbox body is unacceptable; ``status`` is 413 (too large) or 400 (not a JSON object)."""

    def __init__(self, message: str, status: int = 400) -> None:
        """Create an error answering with ``status``."""
        super().__init__(message)
        self.status = status


class OriginError(Exception):
    """The activity is not authorised by its signer; ``status`` is 401 or 403."""

    def __init__(self, message: str, status: int = 403) -> None:
        """Create an error answering with ``status``."""
        super().__init__(message)
        self.status = status


def parse_json_body(body: bytes, max_bytes: int) -> dict[str, Any]:
    """Parse an inbox POST body into a JSON object, enforcing ``max_bytes``."""
    if len(body) > max_bytes:
        raise BadRequest(f"body larger than {max_bytes} bytes", status=413)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BadRequest("JSON body is not an object")
    return doc


def check_activity_origin(activity: dict[str, Any], signer_owner: str) -> None:
    """Check that the signer may speak for ``activity``.

    The activity needs an ``id`` and an ``actor``; the id must have the actor's origin (same
    scheme, host and port, each spelled canonically: ``origin``); and the owner of the
    signing key must *be* the actor. Relays and group forwarding are not
    special-cased on purpose: a Lemmy community forwards others' activities wrapped in an
    ``Announce`` whose actor is the community itself, which passes this rule; an unwrapped
    activity signed by somebody else is refused (403), never trusted.
    """
    activity_id = id_of(activity.get("id"))
    actor = id_of(activity.get("actor"))
    if not activity_id or not actor:
        raise OriginError("activity lacks id or actor", status=403)
    if not same_origin(activity_id, actor):
        raise OriginError(
            f"activity id {activity_id} does not have the actor's origin "
            f"{origin_of(actor) or '(none)'}",
            status=403,
        )
    if signer_owner != actor:
        # 401 (not 403): the request is authenticated, but not as the claimed actor.
        raise OriginError(f"signed by {signer_owner}, but the actor is {actor}", status=401)


def untrusted_embedded_ids(activity: dict[str, Any]) -> list[str]:
    """List ids of embedded objects that live on another host than the activity's actor.

    Their embedded copies are hearsay: the caller must fetch them from their origin (or, for
    its own host, look them up locally) instead of trusting what the sender says they contain.
    Nested activities (``Announce{Create{Note}}``) are walked; objects on the actor's own host
    are covered by the actor's signature and not listed.
    """
    # An actor without a proper origin vouches for nothing: every embedded id is listed.
    actor_origin = origin_of(id_of(activity.get("actor")) or "")
    out: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > _MAX_DEPTH or not isinstance(node, dict):
            return
        obj = node.get("object")
        for item in obj if isinstance(obj, list) else [obj]:
            if not isinstance(item, dict):
                continue
            ident = id_of(item.get("id"))
            if ident and (not actor_origin or origin_of(ident) != actor_origin):
                out.append(ident)
                continue  # everything inside it is refetched with it
            walk(item, depth + 1)

    walk(activity, 0)
    return out


def embedded_needs_fetch(activity: dict[str, Any]) -> bool:
    """Tell whether any embedded object must be refetched from its origin before use."""
    return bool(untrusted_embedded_ids(activity))
