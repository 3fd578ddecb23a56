"""ActivityStreams vocabulary constants, our JSON-LD extension context and small value helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Compacted JSON-LD turns the public collection into "as:Public" or plain "Public"; Pleroma and
# older Mastodon versions have both been seen in the wild.
PUBLIC_ALIASES: frozenset[str] = frozenset({PUBLIC, "as:Public", "Public"})
ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACCEPT_ACTIVITY = f"{ACTIVITY_JSON}, {LD_JSON_PROFILE}"
ACTOR_TYPES: frozenset[str] = frozenset(
    {"Application", "Group", "Organization", "Person", "Service"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def extension_context(ns_url: str) -> dict[str, Any]:
    """Return the JSON-LD context document we publish at ``ns_url`` for our own terms.

    ``ns_url`` is the namespace IRI; the "pu" prefix expands to it (with a trailing ``#``).
    Mastodon's own terms (``discoverable``, ``indexable``, ``featured``) and schema.org's
    ``PropertyValue`` are repeated here so that a single context entry covers everything our
    actors use.
    """
    ns = ns_url if ns_url.endswith(("#", "/")) else ns_url + "#"
    return {
        "@context": {
            "pu": ns,
            "as": "https://www.w3.org/ns/activitystreams#",
            "toot": "http://joinmastodon.org/ns#",
            "schema": "http://schema.org#",
            "forge": "https://forgefed.org/ns#",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "discoverable": "toot:discoverable",
            # Mastodon 4.2+: whether the actor's public posts may be indexed for search.
            "indexable": "toot:indexable",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "joinMode": "pu:joinMode",
            "initiativePolicy": "pu:initiativePolicy",
            "phase": "pu:phase",
            "budget": "pu:budget",
            "budgetType": "pu:budgetType",
            "talents": "pu:talents",
            # ForgeFed defines isResolved for tickets; reuse it so ForgeFed-aware software
            # understands our tasks.
            "isResolved": "forge:isResolved",
            "Contribution": "pu:Contribution",
            "Task": "pu:Task",
            "lane": "pu:lane",
            "rating": "pu:rating",
            # Initiatives federation: the Page, Ticket, Contribution and Rating terms.
            "position": "pu:position",
            "archived": "pu:archived",
            "visibility": "pu:visibility",
            "expectedResult": "pu:expectedResult",
            "motivation": "pu:motivation",
            "hours": "pu:hours",
            "resources": "pu:resources",
            "contributionState": "pu:contributionState",
            "isUpdate": "pu:isUpdate",
            "Rating": "pu:Rating",
        }
    }


def default_context(ns_url: str) -> list[Any]:
    """Return the ``@context`` array for documents we serve: AS, security, then our extension."""
    return [AS_CONTEXT, SECURITY_CONTEXT, extension_context(ns_url)["@context"]]


def as_list(value: Any) -> list[Any]:
    """Normalise a JSON-LD "one or many" value: None -> [], scalar/dict -> [value], list as is."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def id_of(value: Any) -> str | None:
    """Return the IRI of a reference: a string itself, a dict's ``id``, or a Link's ``href``."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and ident:
            return ident
        href = value.get("href")
        if isinstance(href, str) and href:
            return href
    return None


def is_public(addressing: Any) -> bool:
    """Tell whether an addressing value (``to``/``cc`` string, list or dicts) contains Public."""
    return any(id_of(item) in PUBLIC_ALIASES for item in as_list(addressing))


def host_of(url: str) -> str:
    """Return the lowercased host of ``url``, with ``:port`` when the port is not the default.

    Loopback test instances run on ports such as ``localhost:8001``; two instances on one host
    but different ports are different origins, so the port must take part in comparisons.

    Never raises: an unparsable URL (``http://[::1``, which ``urlsplit`` refuses) has the
    empty host, like any other string without one, and so is on no server's host.
    """
    try:
        parts = urlsplit(url)
    except (ValueError, TypeError):
        return ""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


HIDDEN_FIELDS = ("bto", "bcc")


def without_hidden_recipients(activity: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``activity`` without ``bto``/``bcc``, on it and on an embedded object.

    ActivityPub (7.1) requires the blind recipients removed before an activity is delivered
    or shown; the receiver of a blind copy must not learn who else got one.
    """
    clean = {key: value for key, value in activity.items() if key not in HIDDEN_FIELDS}
    inner = clean.get("object")
    if isinstance(inner, dict) and any(key in inner for key in HIDDEN_FIELDS):
        clean["object"] = {k: v for k, v in inner.items() if k not in HIDDEN_FIELDS}
    return clean
