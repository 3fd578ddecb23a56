"""Mentions and links in what people write: finding ``@name@host`` and linking it.

A note is written as markdown-ish text. After ``fedi.text.render_markdown`` has turned it
into safe HTML, the text nodes still contain the mentions and bare URLs as typed; this
module finds them (outside links and code) and wraps them in links. Mentions use the
markup Mastodon produces itself (``<span class="h-card"><a class="u-url mention">``), which
Mastodon, Pleroma and Misskey recognise when they render the note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape, unescape

# "@name" or "@name@host[:port]"; not preceded by a word character, so e-mail addresses
# ("ann@example.org") are not taken for mentions.
MENTION_RE = re.compile(
    r"(?<![\w@/])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])"
    r"(?:@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?))?"
)
URL_RE = re.compile(r"https?://[^\s<>\"']+")
_TAG_RE = re.compile(r"(<[^>]*>)")
_TRAILING_PUNCT = ".,;:!?)]}'\""
# Inside these we never add links: an <a> cannot nest, code is shown as typed.
_NO_LINK_TAGS = ("a", "code", "pre")


@dataclass(frozen=True)
class MentionRef:
    """A mention as typed: the name and the host (our own host when none was typed)."""

    username: str
    host: str

    @property
    def handle(self) -> str:
        """``name@host``."""
        return f"{self.username}@{self.host}"


def find_mentions(text: str, local_host: str) -> list[MentionRef]:
    """Every distinct mention in ``text``, in order; ``@name`` means a person here."""
    seen: dict[str, MentionRef] = {}
    for match in MENTION_RE.finditer(text):
        username, host = match.group(1), (match.group(2) or local_host).lower()
        ref = MentionRef(username, host)
        seen.setdefault(ref.handle.lower(), ref)
    return list(seen.values())


@dataclass(frozen=True)
class MentionLink:
    """Where a resolved mention points: the profile URL and the handle to show."""

    url: str
    username: str


def _link_url(match: re.Match[str]) -> str:
    raw = match.group(0)
    trailing = ""
    while raw and raw[-1] in _TRAILING_PUNCT:
        trailing = raw[-1] + trailing
        raw = raw[:-1]
    if not raw:
        return match.group(0)
    # The text is already HTML-escaped, so it is safe inside the attribute as it stands;
    # unescape and escape again to normalise entities such as &amp;.
    href = escape(unescape(raw), quote=True)
    shown = re.sub(r"^https?://", "", raw)
    return f'<a href="{href}" rel="nofollow noopener ugc" target="_blank">{shown}</a>{trailing}'


def link_text(
    html: str, mentions: Mapping[str, MentionLink], local_host: str
) -> str:
    """Link resolved mentions and bare URLs in the text nodes of ``html``.

    ``mentions`` maps a lower-cased ``name@host`` to its link; mentions not in it (not
    found) stay plain text.
    """

    def mention_sub(match: re.Match[str]) -> str:
        username, host = match.group(1), (match.group(2) or local_host).lower()
        link = mentions.get(f"{username}@{host}".lower())
        if link is None:
            return match.group(0)
        return (
            f'<span class="h-card"><a href="{escape(link.url, quote=True)}" '
            f'class="u-url mention">@<span>{escape(link.username)}</span></a></span>'
        )

    def transform(text: str) -> str:
        # URLs first, then mentions in what is left between the new links.
        pieces = URL_RE.split(text)
        urls = URL_RE.findall(text)
        out: list[str] = []
        for index, piece in enumerate(pieces):
            out.append(MENTION_RE.sub(mention_sub, piece))
            if index < len(urls):
                out.append(URL_RE.sub(_link_url, urls[index]))
        return "".join(out)

    return _map_text_nodes(html, transform)


def _map_text_nodes(html: str, transform: Callable[[str], str]) -> str:
    depth = 0
    out: list[str] = []
    for part in _TAG_RE.split(html):
        if part.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            tag = name.group(1).lower() if name else ""
            if tag in _NO_LINK_TAGS:
                depth += -1 if part.startswith("</") else 1
                depth = max(depth, 0)
            out.append(part)
        elif part:
            out.append(part if depth else transform(part))
    return "".join(out)
