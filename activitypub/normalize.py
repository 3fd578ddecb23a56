"""Parse once, at the edge: turn any ActivityStreams 2.0 JSON dict into typed, frozen values.

Incoming JSON-LD is "one or many" almost everywhere, and every server picks its own shape:
``type`` may be an array, ``url`` a string, a ``Link`` or a list of Links, ``content`` may only
exist in ``contentMap``, ``attributedTo`` may mix a Person and a Group, ``inReplyTo`` may be an
embedded object, ``tag`` a single object. This module reads all of those once, so the rest of
the application works with plain attributes instead of ``dict.get()`` chains.

Public API::

    Malformed(ValueError)                 the document can never be used; str(exc) is the reason
    types_of(value) -> tuple[str, ...]    a ``type`` value (string or array of strings)
    Link                                  href, media_type, name, rel, width, height
    Attachment                            kind, url, media_type, name, width, height, blurhash,
                                          focal_point, value, links
    Tag                                   kind, href, name, icon_url, media_type, rel
    Place                                 id, name, address, latitude, longitude
    AsObject                              an object (Note, Page, Event, Video, Person...);
                                          its fields are listed on the class
    AsActivity                            an activity (Create, Follow, Flag, Lemmy's Lock...)
    normalize_object(doc, *, languages=(), allow_anonymous=False) -> AsObject
    normalize_activity(doc, *, languages=()) -> AsActivity
    check_limits(doc, *, max_depth=MAX_JSON_DEPTH)   Malformed for JSON we must not store

Rules:

- Pure functions, no I/O. Nothing but :class:`Malformed` is raised, whatever JSON comes in
  (including dicts where strings belong, numbers, ``None``, lists of lists, deep nesting).
- Strict where safety needs it: the document's ``id`` and an activity's ``actor`` must be
  absolute ``http(s)`` URLs with a host, without whitespace, control characters or user
  info (``https://trusted.example@evil.example/`` would disguise its host); ``type`` must be a
  non-empty string or array of strings. A failure is permanent: record it, never retry.
- Tolerant where Mastodon is tolerant: unknown types are kept; a missing or unreadable
  optional field becomes ``None`` or an empty tuple; timestamps that do not parse become
  ``None``; references that are not ``http(s)`` URLs are dropped (``context`` and
  ``conversation`` also keep other absolute IRIs, such as Mastodon's ``tag:`` URIs).
- Addressing (``to``/``cc``/``bto``/``bcc``/``audience``) keeps only ``http(s)`` URLs, and
  every spelling of the public collection (``as:Public``, ``Public``) becomes
  :data:`~activitypub.vocab.PUBLIC`, so ``PUBLIC in obj.to`` is enough.
- Types in the ActivityStreams namespace are shortened (``as:Note`` and
  ``https://www.w3.org/ns/activitystreams#Note`` become ``Note``). ``kind`` is the first type
  this module knows (``["Note", "Article"]`` -> ``Note``, ``["schema:X", "Video"]`` ->
  ``Video``), else the first type.
- Anonymous objects: :func:`normalize_object` requires an ``id`` unless
  ``allow_anonymous=True``; then ``AsObject.id`` may be ``None``. The object embedded in an
  activity is read with ``allow_anonymous=True`` (some servers embed transient objects
  without an id, such as the Follow an Accept answers); it becomes an :class:`AsObject`
  when it has at least an ``id`` or a ``type``. An embedded object whose ``id`` or ``type``
  is present but invalid makes the whole activity :class:`Malformed`.
  ``AsActivity.object_activity`` holds the embedded activity (``Undo{Follow}``,
  ``Announce{Create{Note}}``) when it has an id, an actor and an object (or an activity
  type), up to four levels deep; an embedded activity that does not normalise leaves it
  ``None`` rather than failing the outer one. It is a convenience, not a proof: an embedded
  activity from another server must still be fetched from its origin before it is trusted.
- ``languages`` lists the languages the reader prefers (``("nl", "en")``); it picks the entry
  of ``contentMap``/``nameMap``/``summaryMap`` when the plain property is missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .timefmt import parse_datetime
from .vocab import PUBLIC, PUBLIC_ALIASES

__all__ = [
    "KNOWN_TYPES",
    "MAX_JSON_DEPTH",
    "AsActivity",
    "AsObject",
    "Attachment",
    "Link",
    "Malformed",
    "Place",
    "Tag",
    "check_limits",
    "normalize_activity",
    "normalize_object",
    "types_of",
]

_AS_NS = "https://www.w3.org/ns/activitystreams#"
_MAX_URL = 4096
_MAX_TYPE = 256
_MAX_TYPES = 32
# Undo{Announce{Create{Note}}} is the deepest real nesting (Lemmy undoing a community
# announce); anything deeper is read as a plain object without its inner activity.
_MAX_ACTIVITY_DEPTH = 4
# How deeply a received document may nest arrays and objects. The deepest real payloads
# (an Announce of a Create of a Note with a tag holding an icon, inside a JSON-LD context)
# stay under 12; orjson parses 1,024 levels but serialises only about 254, so a deeper
# document would be accepted and then fail to be stored.
MAX_JSON_DEPTH = 64
# Control characters, whitespace and backslashes: none is valid inside an IRI, and browsers
# read a backslash as a slash, which would make the host we check differ from the one used.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\s\\]")
_OTHER_IRI_SCHEMES = frozenset({"tag", "urn"})
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
# A FEP-e232 object link (and Misskey's quote link) carries one of these media types.
_AS_MEDIA_TYPES = frozenset(
    {
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/activity+json",
    }
)
_MISSKEY_QUOTE_REL = "https://misskey-hub.net/ns#_misskey_quote"

_ACTIVITY_TYPES: frozenset[str] = frozenset(
    {
        "Accept", "Add", "Announce", "Arrive", "Block", "Create", "Delete", "Dislike",
        "Flag", "Follow", "Ignore", "Invite", "Join", "Leave", "Like", "Listen", "Move",
        "Offer", "Read", "Reject", "Remove", "TentativeAccept", "TentativeReject", "Travel",
        "Undo", "Update", "View",
    }
)

KNOWN_TYPES: frozenset[str] = _ACTIVITY_TYPES | frozenset(
    {
        # Activity Vocabulary: Question is an activity too, but Mastodon sends it as a poll.
        "Question",
        # Activity Vocabulary: actors.
        "Application", "Group", "Organization", "Person", "Service",
        # Activity Vocabulary: objects and links.
        "Article", "Audio", "Collection", "CollectionPage", "Document", "Event", "Image",
        "Link", "Mention", "Note", "Object", "OrderedCollection", "OrderedCollectionPage",
        "Page", "Place", "Profile", "Relationship", "Tombstone", "Video",
        # Well-known extensions: Mastodon (Hashtag, Emoji, PropertyValue), Pleroma and Lemmy
        # (ChatMessage), Lemmy (Lock), ForgeFed (Ticket), and our own terms.
        "ChatMessage", "Contribution", "Emoji", "Hashtag", "Lock", "PropertyValue",
        "Rating", "Task", "Ticket",
    }
)


class Malformed(ValueError):
    """A document that can never be used; ``str(exc)`` (and ``reason``) says why.

    Parsing is deterministic, so a retry would fail the same way: callers record the reason
    and drop the document.
    """

    def __init__(self, reason: str) -> None:
        """Create the error with a human-readable ``reason``."""
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """An ActivityStreams ``Link`` (or a bare URL string read as one)."""

    href: str
    media_type: str | None = None
    name: str | None = None
    rel: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One entry of ``attachment``: media (Image, Video, Audio, Document), a Link, or a
    profile field (``PropertyValue``, whose text is in ``value``).

    ``url`` is the best ``http(s)`` href: from a string, a Link, or a list of Links, preferring
    one whose ``mediaType`` matches the attachment's. ``name`` is the alt text (Mastodon,
    Pixelfed, Misskey put it in ``name``; some servers only in ``summary``).
    """

    kind: str
    url: str | None = None
    media_type: str | None = None
    name: str | None = None
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None
    focal_point: tuple[float, float] | None = None
    value: str | None = None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Tag:
    """One entry of ``tag``: a Mention, Hashtag, Emoji, FEP-e232 Link or anything else.

    ``href`` falls back to the tag's ``id`` (Pleroma's Emoji, Lemmy's CommunityPostTag);
    ``icon_url`` is an Emoji's image.
    """

    kind: str
    href: str | None = None
    name: str | None = None
    icon_url: str | None = None
    media_type: str | None = None
    rel: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Place:
    """An Event's ``location`` (Mobilizon sends a ``Place`` with a schema.org PostalAddress).

    ``address`` is one line of text, from a string or from a PostalAddress dict.
    """

    id: str | None = None
    name: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class _Addressed:
    """Helpers shared by objects and activities over their addressing fields."""

    to: tuple[str, ...]
    cc: tuple[str, ...]
    bto: tuple[str, ...]
    bcc: tuple[str, ...]
    audience: tuple[str, ...]

    @property
    def is_public(self) -> bool:
        """True when the public collection is in ``to`` or ``cc``."""
        return PUBLIC in self.to or PUBLIC in self.cc

    @property
    def addressed(self) -> tuple[str, ...]:
        """Every id in ``to``, ``cc``, ``bto``, ``bcc`` and ``audience``, once, in order."""
        return _unique((*self.to, *self.cc, *self.bto, *self.bcc, *self.audience))

    @property
    def hidden_recipients(self) -> tuple[str, ...]:
        """The blind recipients (``bto`` and ``bcc``); never forward or show these."""
        return _unique((*self.bto, *self.bcc))


@dataclass(frozen=True)
class AsObject(_Addressed):
    """A normalised ActivityStreams object (anything with a ``type``: Note, Page, Event...).

    ``id`` is ``None`` only for anonymous objects (see ``allow_anonymous``). ``content`` is
    HTML (or ``media_type``, e.g. PeerTube's ``text/markdown``); ``source`` is the author's
    original text when the server sends it (Lemmy and Mastodon markdown, Friendica bbcode).
    ``raw`` is the dict as received; it is not part of equality.
    """

    id: str | None
    types: tuple[str, ...]
    kind: str
    attributed_to: tuple[str, ...] = ()
    content: str | None = None
    content_map: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    name_map: Mapping[str, str] = field(default_factory=dict)
    summary: str | None = None
    summary_map: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    media_type: str | None = None
    source: str | None = None
    source_media_type: str | None = None
    url: str | None = None
    urls: tuple[Link, ...] = ()
    in_reply_to: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bto: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    context: str | None = None
    conversation: str | None = None
    attachments: tuple[Attachment, ...] = ()
    tags: tuple[Tag, ...] = ()
    sensitive: bool = False
    start_time: datetime | None = None
    end_time: datetime | None = None
    location: Place | None = None
    quote: str | None = None
    replies: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def mentions(self) -> tuple[str, ...]:
        """The hrefs of the ``Mention`` tags."""
        return _unique(t.href for t in self.tags if t.kind == "Mention" and t.href)


@dataclass(frozen=True)
class AsActivity(_Addressed):
    """A normalised activity.

    ``actor`` is the first actor (``actors`` keeps all, for the rare list). ``object_ids``
    holds every referenced object (a Mastodon ``Flag`` lists the account and its statuses);
    ``object_id`` is the first. ``object`` is the embedded object, ``object_raw`` its dict,
    ``object_activity`` the embedded activity read as one. ``summary``/``content`` carry a
    reason where servers put one (Lemmy's Block, Lock and Flag use ``summary``, Mastodon's
    Flag ``content``); ``end_time`` is the expiry of a Lemmy ban.
    """

    id: str
    types: tuple[str, ...]
    kind: str
    actor: str
    actors: tuple[str, ...] = ()
    object: AsObject | None = None
    object_id: str | None = None
    object_ids: tuple[str, ...] = ()
    object_raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    object_activity: AsActivity | None = field(default=None, repr=False)
    target: str | None = None
    origin: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bto: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    published: datetime | None = None
    summary: str | None = None
    content: str | None = None
    end_time: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def check_limits(doc: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`Malformed` when parsed JSON ``doc`` is one we must never store.

    That is: arrays and objects nested deeper than ``max_depth``, or a NUL character in
    any string or key (PostgreSQL refuses U+0000 in text; no server sends it on purpose).
    Walks the document without recursion, so a hostile depth cannot exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise Malformed(f"JSON nested deeper than {max_depth} levels")
            for key, value in node.items():
                if "\x00" in key:
                    raise Malformed("JSON holds a NUL character (U+0000)")
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise Malformed(f"JSON nested deeper than {max_depth} levels")
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and "\x00" in node:
            raise Malformed("JSON holds a NUL character (U+0000)")


# --------------------------------------------------------------------------------------------
# Small readers (never raise)
# --------------------------------------------------------------------------------------------


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return tuple(seen)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _http_url(value: Any) -> str | None:
    """Return ``value`` unchanged if it is an absolute http(s) URL we accept, else None."""
    if not isinstance(value, str) or not value or len(value) > _MAX_URL:
        return None
    if _BAD_URL_CHARS.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if not parts.hostname or "@" in parts.netloc:
        return None
    return value


def _iri(value: Any) -> str | None:
    """An http(s) URL, or a ``tag:`` or ``urn:`` IRI (never ``javascript:`` and the like)."""
    url = _http_url(value)
    if url is not None:
        return url
    if not isinstance(value, str) or len(value) > _MAX_URL or _BAD_URL_CHARS.search(value):
        return None
    scheme, _, rest = value.partition(":")
    return value if scheme.lower() in _OTHER_IRI_SCHEMES and rest else None


def _ref(value: Any) -> str | None:
    """The http(s) id of a reference: a string, an embedded object's ``id``, a Link's
    ``href``, or the first usable entry of a list (nested lists are ignored)."""
    for item in _as_list(value):
        if isinstance(item, str):
            url = _http_url(item)
        elif isinstance(item, dict):
            url = _http_url(item.get("id")) or _http_url(item.get("href"))
        else:
            url = None
        if url is not None:
            return url
    return None


def _refs(value: Any) -> tuple[str, ...]:
    """Every http(s) id in a one-or-many reference value, once, in order."""
    out: list[str] = []
    for item in _as_list(value):
        url = _ref(item) if isinstance(item, (str, dict)) else None
        if url is not None:
            out.append(url)
    return _unique(out)


def _addressing(value: Any) -> tuple[str, ...]:
    """Recipients: http(s) ids, with every alias of the public collection spelled PUBLIC."""
    out: list[str] = []
    for item in _as_list(value):
        ident = item.get("id") if isinstance(item, dict) else item
        if isinstance(ident, str) and ident in PUBLIC_ALIASES:
            out.append(PUBLIC)
            continue
        url = _ref(item) if isinstance(item, (str, dict)) else None
        if url is not None:
            out.append(url)
    return _unique(out)


def _text(value: Any) -> str | None:
    """A non-blank string, else None."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def _when(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for anything that does not parse."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError, TypeError):
        return None


def _dimension(value: Any) -> int | None:
    """A pixel size: a non-negative integer (or integral float / digit string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 7:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= 1_000_000:
        return value
    return None


def _number(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    return None


def _lang_tag(value: Any) -> str | None:
    if isinstance(value, str) and _LANG_TAG.match(value) and value.lower() != "und":
        return value
    return None


def _language_map(value: Any) -> dict[str, str]:
    """A language map (``contentMap``...) keeping only string keys with string values."""
    if not isinstance(value, dict):
        return {}
    return {
        key: text
        for key, text in value.items()
        if isinstance(key, str) and 0 < len(key) <= 35 and isinstance(text, str)
    }


def _pick(mapping: Mapping[str, str], languages: Sequence[str]) -> tuple[str, str] | None:
    """The preferred ``(language, text)`` of a language map.

    Order: an exact preferred language, then one sharing its primary subtag (``en`` for
    ``en-GB``), then the first non-blank entry as sent.
    """
    entries = [(k, v) for k, v in mapping.items() if v.strip()]
    if not entries:
        return None
    lowered = {k.lower().replace("_", "-"): (k, v) for k, v in entries}
    for wanted in languages:
        hit = lowered.get(wanted.lower().replace("_", "-"))
        if hit is not None:
            return hit
    for wanted in languages:
        primary = wanted.lower().replace("_", "-").split("-")[0]
        for key, pair in lowered.items():
            if key.split("-")[0] == primary:
                return pair
    return entries[0]


def _localized(
    doc: Mapping[str, Any], key: str, languages: Sequence[str]
) -> tuple[str | None, dict[str, str], str | None]:
    """Read ``key`` and ``keyMap``: (text, map, language of the text when known).

    Mastodon sends both with one entry; WordPress adds ``nameMap`` and ``summaryMap``; a
    multilingual sender may send only the map.
    """
    text = _text(doc.get(key))
    mapping = _language_map(doc.get(key + "Map"))
    language: str | None = None
    if text is None:
        picked = _pick(mapping, languages)
        if picked is not None:
            language, text = picked
    elif mapping:
        same = [k for k, v in mapping.items() if v == text]
        if same:
            language = same[0]
        elif len(mapping) == 1:
            # Friendica renders content and contentMap differently (bdi, mention markup);
            # a single entry still names the language of the post.
            language = next(iter(mapping))
    return text, mapping, _lang_tag(language)


def _language_field(value: Any) -> str | None:
    """Lemmy's and PeerTube's ``language`` ({identifier, name}, or a list of them) and
    Mobilizon's ``inLanguage`` (a string)."""
    for item in _as_list(value):
        if isinstance(item, dict):
            item = item.get("identifier")
        tag = _lang_tag(item)
        if tag is not None:
            return tag
    return None


def _rel(value: Any) -> tuple[str, ...]:
    return _unique(r for r in _as_list(value) if isinstance(r, str) and r)


def _lenient_types(value: Any) -> tuple[str, ...]:
    try:
        return types_of(value)
    except Malformed:
        return ()


def _link(value: Any) -> Link | None:
    """A Link from a URL string or a Link-ish dict (``href``, else a string ``url``)."""
    if isinstance(value, str):
        url = _http_url(value)
        return Link(url) if url is not None else None
    if not isinstance(value, dict):
        return None
    href = _http_url(value.get("href")) or _http_url(value.get("url"))
    if href is None:
        return None
    return Link(
        href=href,
        media_type=_text(value.get("mediaType")),
        name=_text(value.get("name")),
        rel=_rel(value.get("rel")),
        width=_dimension(value.get("width")),
        height=_dimension(value.get("height")),
    )


def _links(value: Any) -> tuple[Link, ...]:
    """Every Link of a one-or-many ``url``/``href`` value (nested lists are ignored)."""
    out = []
    for item in _as_list(value):
        link = _link(item)
        if link is not None:
            out.append(link)
    return tuple(out)


def _best_link(links: Sequence[Link], media_type: str | None, kind: str) -> Link | None:
    """The Link matching ``media_type``, else one of the kind's major type, else the first.

    PeerTube lists an HTML page, an HLS playlist and MP4 files; Pleroma and Akkoma list one
    Link per attachment.
    """
    if not links:
        return None
    if media_type:
        for link in links:
            if link.media_type and link.media_type.lower() == media_type.lower():
                return link
    major = {"Image": "image/", "Video": "video/", "Audio": "audio/"}.get(kind)
    if major:
        for link in links:
            if link.media_type and link.media_type.lower().startswith(major):
                return link
    return links[0]


def _image_url(value: Any) -> str | None:
    """The URL of an ``icon``/``image``: a string, an Image whose ``url`` is a string, Link or
    list, or a list of Images (PeerTube sends several sizes; take the largest)."""
    best: tuple[int, str] | None = None
    for item in _as_list(value):
        if isinstance(item, str):
            url = _http_url(item)
            size = 0
        elif isinstance(item, dict):
            links = _links(item.get("url")) or _links(item.get("href"))
            url = links[0].href if links else None
            size = (_dimension(item.get("width")) or 0) * (_dimension(item.get("height")) or 0)
        else:
            continue
        if url is not None and (best is None or size > best[0]):
            best = (size, url)
    return best[1] if best is not None else None


def _preferences(languages: Sequence[str]) -> tuple[str, ...]:
    # A bare "nl" would otherwise be read as the languages "n" and "l".
    if isinstance(languages, str):
        return (languages,)
    return tuple(lang for lang in languages if isinstance(lang, str))


def _kind(types: tuple[str, ...]) -> str:
    for name in types:
        if name in KNOWN_TYPES:
            return name
    return types[0]


# --------------------------------------------------------------------------------------------
# Public readers
# --------------------------------------------------------------------------------------------


def types_of(value: Any) -> tuple[str, ...]:
    """Read a ``type`` value: a string or an array of strings, as a tuple without repeats.

    Names in the ActivityStreams namespace are shortened (``as:Note`` -> ``Note``). Raises
    :class:`Malformed` when the value is missing, empty, or holds anything but strings.
    """
    if value is None:
        raise Malformed("type is missing")
    items = value if isinstance(value, list) else [value]
    if not items:
        raise Malformed("type is an empty array")
    if len(items) > _MAX_TYPES:
        raise Malformed(f"type has more than {_MAX_TYPES} entries")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise Malformed(f"type holds a {type(item).__name__}, not a string")
        name = item.strip()
        if not name or len(name) > _MAX_TYPE:
            raise Malformed("type holds an empty or overlong name")
        if name.startswith(_AS_NS):
            name = name[len(_AS_NS) :]
        elif name.startswith("as:"):
            name = name[3:]
        if name:
            out.append(name)
    if not out:
        raise Malformed("type holds no usable name")
    return _unique(out)


def _attachment(item: Any) -> Attachment | None:
    if isinstance(item, str):
        url = _http_url(item)
        return Attachment(kind="Link", url=url, links=(Link(url),)) if url else None
    if not isinstance(item, dict):
        return None
    types = _lenient_types(item.get("type"))
    if types:
        kind = _kind(types)
    else:
        # No usable type: a bare Link-shaped dict (Lemmy's link posts) or media.
        kind = "Link" if "href" in item else "Document"
    media_type = _text(item.get("mediaType"))
    links = _links(item.get("url")) + _links(item.get("href"))
    best = _best_link(links, media_type, kind)
    focal: tuple[float, float] | None = None
    raw_focal = item.get("focalPoint")  # Mastodon: [x, y], each in [-1, 1]
    if isinstance(raw_focal, list) and len(raw_focal) == 2:
        x, y = _number(raw_focal[0]), _number(raw_focal[1])
        if x is not None and y is not None and -1 <= x <= 1 and -1 <= y <= 1:
            focal = (x, y)
    value = item.get("value")
    attachment = Attachment(
        kind=kind,
        url=best.href if best else None,
        media_type=media_type or (best.media_type if best else None),
        name=_text(item.get("name")) or _text(item.get("summary")),
        width=_dimension(item.get("width")) or (best.width if best else None),
        height=_dimension(item.get("height")) or (best.height if best else None),
        blurhash=_text(item.get("blurhash")),
        focal_point=focal,
        value=value if isinstance(value, str) else None,
        links=links,
    )
    if attachment.url is None and attachment.value is None and attachment.name is None:
        return None
    return attachment


def _tag(item: Any) -> Tag | None:
    if not isinstance(item, dict):
        return None
    types = _lenient_types(item.get("type"))
    # Smithereen's Mention has only type and href; Lemmy's CommunityPostTag only an id.
    href = _http_url(item.get("href")) or _http_url(item.get("id"))
    name = _text(item.get("name"))
    if href is None and name is None:
        return None
    return Tag(
        kind=_kind(types) if types else ("Link" if "href" in item else "Object"),
        href=href,
        name=name,
        icon_url=_image_url(item.get("icon")),
        media_type=_text(item.get("mediaType")),
        rel=_rel(item.get("rel")),
    )


def _postal_address(value: Any) -> str | None:
    if isinstance(value, str):
        return _text(value)
    if not isinstance(value, dict):
        return None
    # schema.org PostalAddress, as Mobilizon sends it.
    locality = " ".join(
        part
        for part in (_text(value.get("postalCode")), _text(value.get("addressLocality")))
        if part
    )
    parts = [
        _text(value.get("streetAddress")),
        locality or None,
        _text(value.get("addressRegion")),
        _text(value.get("addressCountry")),
    ]
    line = ", ".join(p.strip() for p in parts if p)
    return line or None


def _place(value: Any) -> Place | None:
    for item in _as_list(value):
        if isinstance(item, str):
            url = _http_url(item)
            if url is not None:
                return Place(id=url)
            if _text(item) is not None:
                return Place(name=item)
        elif isinstance(item, dict):
            latitude = _number(item.get("latitude"))
            longitude = _number(item.get("longitude"))
            place = Place(
                id=_http_url(item.get("id")),
                name=_text(item.get("name")),
                address=_postal_address(item.get("address")),
                latitude=latitude if latitude is not None and -90 <= latitude <= 90 else None,
                longitude=(
                    longitude if longitude is not None and -180 <= longitude <= 180 else None
                ),
            )
            if place != Place():
                return place
    return None


def _quote(doc: Mapping[str, Any], tags: Sequence[Tag]) -> str | None:
    # FEP-044f ``quote`` (Mastodon 4.4+), ``quoteUrl`` (Misskey, Pleroma, Akkoma),
    # ``quoteUri`` (Fedibird), ``_misskey_quote`` (Misskey), in that order.
    for key in ("quote", "quoteUrl", "quoteUri", "_misskey_quote"):
        url = _ref(doc.get(key))
        if url is not None:
            return url
    # FEP-e232 object links: a Link tag with an ActivityStreams media type; Misskey marks the
    # quote with its rel, others name it "RE: <url>".
    for tag in tags:
        if tag.href is None or (tag.media_type or "") not in _AS_MEDIA_TYPES:
            continue
        if _MISSKEY_QUOTE_REL in tag.rel or (tag.name or "").startswith("RE:"):
            return tag.href
    return None


def _document_id(doc: Mapping[str, Any]) -> str | None:
    """The document's own id: None when absent, Malformed when present but unusable."""
    raw = doc.get("id")
    if raw is None:
        return None
    url = _http_url(raw)
    if url is None:
        shown = repr(raw)[:80] if isinstance(raw, str) else type(raw).__name__
        raise Malformed(f"id {shown} is not an absolute http(s) URL")
    return url


def normalize_object(
    doc: Any, *, languages: Sequence[str] = (), allow_anonymous: bool = False
) -> AsObject:
    """Normalise an object document (Note, Page, Article, Event, Video, Person...).

    ``languages`` are the reader's preferred languages for picking from language maps.
    Raises :class:`Malformed` when ``doc`` is not a dict, its ``id`` is missing (unless
    ``allow_anonymous``) or not an absolute http(s) URL, or its ``type`` is missing or not a
    string or array of strings.
    """
    if not isinstance(doc, dict):
        raise Malformed(f"document is a {type(doc).__name__}, not a JSON object")
    languages = _preferences(languages)
    ident = _document_id(doc)
    if ident is None and not allow_anonymous:
        raise Malformed("id is missing")
    types = types_of(doc.get("type"))
    content, content_map, content_language = _localized(doc, "content", languages)
    name, name_map, name_language = _localized(doc, "name", languages)
    summary, summary_map, summary_language = _localized(doc, "summary", languages)
    attributed = _refs(doc.get("attributedTo"))
    if not attributed:
        # Mobilizon puts the organiser in ``actor`` next to the group in ``attributedTo``;
        # some of its objects and Pleroma's carry only ``actor``.
        attributed = _refs(doc.get("actor"))
    source_raw = doc.get("source")
    source: str | None = None
    source_media_type: str | None = None
    if isinstance(source_raw, dict):
        source = source_raw.get("content") if isinstance(source_raw.get("content"), str) else None
        source_media_type = _text(source_raw.get("mediaType"))
    elif isinstance(source_raw, str):
        source = source_raw  # Pleroma and Akkoma send the source text as a bare string.
    urls = _links(doc.get("url"))
    # PeerTube lists the watch page (text/html) next to streams; people want the page.
    page = next((u for u in urls if (u.media_type or "").lower() == "text/html"), None)
    tags = tuple(t for t in map(_tag, _as_list(doc.get("tag"))) if t is not None)
    attachments = tuple(
        a for a in map(_attachment, _as_list(doc.get("attachment"))) if a is not None
    )
    return AsObject(
        id=ident,
        types=types,
        kind=_kind(types),
        attributed_to=attributed,
        content=content,
        content_map=content_map,
        name=name,
        name_map=name_map,
        summary=summary,
        summary_map=summary_map,
        language=(
            content_language
            or _language_field(doc.get("language"))
            or _language_field(doc.get("inLanguage"))
            or name_language
            or summary_language
        ),
        media_type=_text(doc.get("mediaType")),
        source=source,
        source_media_type=source_media_type,
        url=(page or urls[0]).href if urls else None,
        urls=urls,
        in_reply_to=_ref(doc.get("inReplyTo")),
        published=_when(doc.get("published")),
        updated=_when(doc.get("updated")),
        to=_addressing(doc.get("to")),
        cc=_addressing(doc.get("cc")),
        bto=_addressing(doc.get("bto")),
        bcc=_addressing(doc.get("bcc")),
        audience=_addressing(doc.get("audience")),
        # GNU social calls the thread ``inConversation``.
        context=_context_id(doc.get("context")) or _context_id(doc.get("inConversation")),
        conversation=_context_id(doc.get("conversation")),
        attachments=attachments,
        tags=tags,
        sensitive=doc.get("sensitive") is True,
        start_time=_when(doc.get("startTime")),
        end_time=_when(doc.get("endTime")),
        location=_place(doc.get("location")),
        quote=_quote(doc, tags),
        replies=_ref(doc.get("replies")),
        icon_url=_image_url(doc.get("icon")),
        image_url=_image_url(doc.get("image")),
        raw=doc,
    )


def _context_id(value: Any) -> str | None:
    """A thread id: an IRI string or an embedded collection's id (Mastodon's ``conversation``
    is an OStatus ``tag:`` URI, so any absolute IRI is kept)."""
    if isinstance(value, dict):
        value = value.get("id")
    return _iri(value)


def normalize_activity(doc: Any, *, languages: Sequence[str] = ()) -> AsActivity:
    """Normalise an activity document (Create, Follow, Undo, Flag, Lemmy's Lock...).

    Any ``type`` is accepted; an activity needs an http(s) ``id`` and ``actor`` (the first
    usable one when ``actor`` is a list). The embedded object is read with
    ``allow_anonymous=True``. Raises :class:`Malformed` as :func:`normalize_object` does,
    when the actor is missing or not a URL, or when the embedded object has an invalid
    ``id`` or ``type``.
    """
    return _normalize_activity(doc, _preferences(languages), depth=0)


def _looks_like_activity(doc: Mapping[str, Any], obj: AsObject) -> bool:
    # Pleroma's Notes and Mobilizon's Events carry an ``actor`` too; an activity also has an
    # ``object`` or is one of the Activity Vocabulary's activity types.
    if doc.get("actor") is None:
        return False
    return doc.get("object") is not None or obj.kind in _ACTIVITY_TYPES


def _normalize_activity(doc: Any, languages: Sequence[str], *, depth: int) -> AsActivity:
    if not isinstance(doc, dict):
        raise Malformed(f"document is a {type(doc).__name__}, not a JSON object")
    ident = _document_id(doc)
    if ident is None:
        raise Malformed("id is missing")
    types = types_of(doc.get("type"))
    if doc.get("actor") is None:
        raise Malformed("actor is missing")
    actors = _refs(doc.get("actor"))
    if not actors:
        raise Malformed("actor is not an absolute http(s) URL")

    raw_object = doc.get("object")
    embedded = raw_object[0] if isinstance(raw_object, list) and raw_object else raw_object
    obj: AsObject | None = None
    object_raw: dict[str, Any] | None = None
    object_activity: AsActivity | None = None
    if isinstance(embedded, dict):
        object_raw = embedded
        if embedded.get("id") is not None or embedded.get("type") is not None:
            try:
                obj = normalize_object(embedded, languages=languages, allow_anonymous=True)
            except Malformed as exc:
                raise Malformed(f"object: {exc.reason}") from None
            if obj.id is not None and depth < _MAX_ACTIVITY_DEPTH and _looks_like_activity(
                embedded, obj
            ):
                try:
                    object_activity = _normalize_activity(embedded, languages, depth=depth + 1)
                except Malformed:
                    # Only a convenience: the handler refetches the inner activity by its id.
                    object_activity = None
    object_ids = _refs(raw_object)
    content, _, _ = _localized(doc, "content", languages)
    summary, _, _ = _localized(doc, "summary", languages)
    return AsActivity(
        id=ident,
        types=types,
        kind=_kind(types),
        actor=actors[0],
        actors=actors,
        object=obj,
        object_id=object_ids[0] if object_ids else None,
        object_ids=object_ids,
        object_raw=object_raw,
        object_activity=object_activity,
        target=_ref(doc.get("target")),
        origin=_ref(doc.get("origin")),
        to=_addressing(doc.get("to")),
        cc=_addressing(doc.get("cc")),
        bto=_addressing(doc.get("bto")),
        bcc=_addressing(doc.get("bcc")),
        audience=_addressing(doc.get("audience")),
        published=_when(doc.get("published")),
        summary=summary,
        content=content,
        end_time=_when(doc.get("endTime")),
        raw=doc,
    )
