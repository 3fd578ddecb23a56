"""What a post shows besides its text: attachments, an event's time and place, media links.

Remote posts keep the document as received (``ApObject.payload``); this module reads it with
``activitypub.normalize`` and renders, as Mastodon shows them:

- images (an ``Image`` attachment, or any attachment with an ``image/*`` media type, and an
  ``Image`` object itself) as ``<img alt="...">`` with the attachment's ``name`` as alt text,
  lazily loaded and without sending a referrer to the remote server;
- video, audio, documents and links as links with their name and media type;
- an ``Event`` (Mobilizon) with its title, start and end time and place;
- a poll (``Question``, Mastodon) with its options (voting is not built yet).

Only ``http(s)`` URLs are used (the normaliser drops the rest); every value is escaped. The
templates call :func:`post_extras` (registered as a template global by the social pages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from activitypub.normalize import AsObject, Attachment, Malformed, normalize_object
from models import ApObject

__all__ = ["post_extras", "render_extras"]

# Keys whose presence means the payload has something to show besides its text; a plain
# note (most of a timeline) is not parsed at all.
_EXTRA_KEYS = ("attachment", "startTime", "location", "oneOf", "anyOf")
_MEDIA_KINDS = frozenset({"Image", "Video", "Audio", "Document", "Event", "Question"})
_LINK_REL = "nofollow noopener noreferrer"
MAX_ATTACHMENTS = 8


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _is_image(item: Attachment) -> bool:
    media = (item.media_type or "").lower()
    return media.startswith("image/") or (item.kind == "Image" and not media)


def _image(url: str, alt: str | None, width: int | None, height: int | None) -> Markup:
    size = ""
    if width and height:
        size = Markup(' width="{}" height="{}"').format(width, height)
    return Markup(
        '<a class="post-image" href="{url}" rel="{rel}"><img src="{url}" alt="{alt}"{size}'
        ' loading="lazy" decoding="async" referrerpolicy="no-referrer"></a>'
    ).format(url=url, rel=_LINK_REL, alt=alt or "", size=size)


def _link(url: str, label: str, media_type: str | None) -> Markup:
    kind = Markup(' <span class="hint">({})</span>').format(media_type) if media_type else ""
    return Markup(
        '<a href="{url}" rel="{rel}" referrerpolicy="no-referrer">{label}</a>{kind}'
    ).format(url=url, rel=_LINK_REL, label=label, kind=kind)


def _file_name(url: str) -> str:
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail or url


def _attachment(item: Attachment) -> Markup | None:
    if item.url is None or item.kind == "PropertyValue":
        return None
    if _is_image(item):
        return _image(item.url, item.name, item.width, item.height)
    return Markup("<li>{}</li>").format(
        _link(item.url, item.name or _file_name(item.url), item.media_type)
    )


def _event(obj: AsObject) -> Markup:
    rows: list[Markup] = []
    if obj.start_time is not None:
        span = _when(obj.start_time)
        if obj.end_time is not None:
            span += " – " + _when(obj.end_time)
        rows.append(
            Markup('<p class="post-event-time"><time datetime="{}">{}</time></p>').format(
                obj.start_time.isoformat(), span
            )
        )
    place = obj.location
    if place is not None and (place.name or place.address):
        text = ", ".join(p for p in (place.name, place.address) if p)
        rows.append(Markup('<p class="post-event-place">{}</p>').format(text))
    if not rows:
        return Markup("")
    return Markup('<div class="post-event">{}</div>').format(Markup("").join(rows))


def _poll(obj: AsObject) -> Markup:
    """The options of a Mastodon poll (``oneOf``, or ``anyOf`` for several answers)."""
    raw = obj.raw.get("oneOf") or obj.raw.get("anyOf")
    names = [
        option["name"] for option in (raw if isinstance(raw, list) else [])
        if isinstance(option, dict) and isinstance(option.get("name"), str)
    ][:MAX_ATTACHMENTS]
    if not names:
        return Markup("")
    items = Markup("").join(Markup("<li>{}</li>").format(name[:200]) for name in names)
    return Markup('<ul class="post-poll">{}</ul>').format(items)


def _own_media(obj: AsObject) -> Markup:
    """An Image/Video/Audio/Document object shows its own media (its ``url``)."""
    if obj.kind not in ("Image", "Video", "Audio", "Document") or obj.url is None:
        return Markup("")
    if obj.kind == "Image":
        link = next(
            (u for u in obj.urls if (u.media_type or "image/").lower().startswith("image/")),
            None,
        )
        if link is not None:
            return _image(link.href, obj.name or obj.summary, link.width, link.height)
    label = obj.name or _file_name(obj.url)
    return Markup('<p class="post-media">{}</p>').format(_link(obj.url, label, None))


def render_extras(obj: AsObject, *, with_name: bool = True) -> Markup:
    """The HTML shown under a post's text for the normalised ``obj``."""
    parts: list[Markup] = []
    if with_name and obj.kind == "Event" and obj.name:
        parts.append(Markup('<p class="post-title"><strong>{}</strong></p>').format(obj.name))
    if obj.kind == "Event":
        parts.append(_event(obj))
    if obj.kind == "Question":
        parts.append(_poll(obj))
    parts.append(_own_media(obj))
    images: list[Markup] = []
    links: list[Markup] = []
    for item in obj.attachments[:MAX_ATTACHMENTS]:
        shown = _attachment(item)
        if shown is None:
            continue
        (images if _is_image(item) else links).append(shown)
    if images:
        parts.append(Markup('<div class="post-images">{}</div>').format(Markup("").join(images)))
    if links:
        parts.append(
            Markup('<ul class="post-attachments">{}</ul>').format(Markup("").join(links))
        )
    return Markup("").join(parts)


def post_extras(note: ApObject | Any, with_name: bool = True) -> Markup:
    """What ``note`` shows besides its text (empty for our own posts and plain notes)."""
    payload = getattr(note, "payload", None)
    if getattr(note, "local", False) or not isinstance(payload, dict):
        return Markup("")
    if note.type not in _MEDIA_KINDS and not any(k in payload for k in _EXTRA_KEYS):
        return Markup("")
    try:
        obj = normalize_object(payload, allow_anonymous=True)
    except Malformed:
        return Markup("")
    return render_extras(obj, with_name=with_name)

