"""Text in and out: markdown written here, HTML received from other servers, plain text.

Every piece of HTML that reaches a page or another server passes through one of the two
sanitisers below, so the allow-lists live in exactly one place:

* ``render_markdown`` turns what a person typed (markdown, raw HTML switched off) into
  a small, safe subset of HTML.
* ``sanitize_remote_html`` cleans HTML written by other software (Mastodon, Lemmy,
  Mobilizon...), keeping the mention and hashtag markup they rely on.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt

# The rel every link written by a person gets: no endorsement for search engines (spam),
# no window.opener for the target, and "ugc" marks it as user-generated content.
USER_LINK_REL = "nofollow noopener ugc"
# Links a person adds to their own profile: "me" lets Mastodon verify them (rel-me).
PROFILE_LINK_REL = "me nofollow noopener"

URL_SCHEMES = frozenset({"http", "https", "mailto"})

_LOCAL_TAGS = frozenset(
    {
        "p", "br", "a", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
        "h3", "h4", "h5", "h6", "hr", "del", "s",
    }
)
_REMOTE_TAGS = frozenset(
    {
        "p", "br", "a", "span", "strong", "b", "em", "i", "u", "s", "del", "code", "pre",
        "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "sup", "sub",
    }
)
# Tags removed together with everything inside them (nh3 keeps the text of other tags).
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math",
        "textarea", "select", "title", "frame", "frameset", "noembed", "xmp", "applet",
    }
)
# Classes other servers put on mentions and hashtags. Mastodon wraps mentions in
# <span class="h-card"><a class="u-url mention">; its long links use "invisible"/"ellipsis"
# spans to shorten the shown text. Pleroma and Misskey use the same names.
_REMOTE_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "h-card", "status-link", "unhandled-link"},
    "span": {"h-card", "mention", "hashtag", "invisible", "ellipsis", "u-url"},
}

_local_cleaner = nh3.Cleaner(
    tags=set(_LOCAL_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={"a": {"href"}},
    link_rel=USER_LINK_REL,
    url_schemes=set(URL_SCHEMES),
    # A relative link in a bio would point somewhere else on every server it federates to.
    url_relative="deny",
)
_remote_cleaner = nh3.Cleaner(
    tags=set(_REMOTE_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={"a": {"href"}},
    allowed_classes={tag: set(names) for tag, names in _REMOTE_CLASSES.items()},
    link_rel=USER_LINK_REL,
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
)


def _shift_headings(state: Any) -> None:
    """Render markdown ``#``/``##`` as h3/h4...: the page around a bio owns h1 and h2."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1:])
            token.tag = f"h{min(6, level + 2)}"


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    # Images would load third-party content into our pages (tracking); a profile has an avatar.
    md.disable("image")
    md.core.ruler.push("shift_headings", _shift_headings)
    return md


_markdown = _make_markdown()


def render_markdown(source: str) -> str:
    """Render markdown typed by a person into sanitised HTML (raw HTML is shown as text)."""
    if not source.strip():
        return ""
    return _local_cleaner.clean(_markdown.render(source)).strip()


def sanitize_html(html: str) -> str:
    """Clean HTML produced on this server against the same allow-list as markdown output."""
    return _local_cleaner.clean(html).strip()


def sanitize_remote_html(html: str) -> str:
    """Clean HTML received from another server before storing or showing it.

    Keeps paragraphs, emphasis, lists, quotes, code and links (http, https, mailto), and the
    mention/hashtag classes; drops scripts, styles, frames, forms, event handlers, inline
    styles, images and ``javascript:`` URLs.
    """
    if not html:
        return ""
    return _remote_cleaner.clean(html).strip()


def link_html(url: str, text: str | None = None, *, rel: str = PROFILE_LINK_REL) -> str:
    """An escaped ``<a>`` to ``url`` that opens in a new tab (used for profile links).

    The shown text defaults to the URL without its scheme, as Mastodon shows profile links.
    """
    shown = text if text is not None else re.sub(r"^https?://", "", url).rstrip("/")
    return (
        f'<a href="{escape(url, quote=True)}" rel="{escape(rel, quote=True)}" '
        f'target="_blank">{escape(shown)}</a>'
    )


_BLOCK_TAGS = frozenset(
    {
        "p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "table", "tr", "section", "article", "header", "footer",
    }
)
_SKIP_TAGS = frozenset(_DROP_WITH_CONTENT | {"head"})


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment, with line breaks between blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.invisible_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
            return
        if self.invisible_depth:
            self.invisible_depth += 1 if tag == "span" else 0
        elif tag == "span" and "invisible" in (dict(attrs).get("class") or "").split():
            # Mastodon hides the "https://" of shortened links in such spans.
            self.invisible_depth = 1
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.invisible_depth and tag == "span":
            self.invisible_depth -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth and not self.invisible_depth:
            self.parts.append(data)


def plain_text(html: str, limit: int | None = None) -> str:
    """The readable text of an HTML fragment, optionally cut to ``limit`` characters.

    Paragraphs become blank lines, ``<br>`` a newline; the result is meant to be escaped
    again where it is shown (it is text, not HTML). A cut ends on a word boundary with "…".
    """
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if limit is not None and len(text) > limit:
        cut = text[: max(0, limit - 1)]
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > limit // 2:
            cut = cut[:space]
        text = cut.rstrip() + "…"
    return text
