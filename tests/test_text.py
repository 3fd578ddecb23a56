"""Markdown rendering and HTML sanitising against hostile input."""

from __future__ import annotations

import re

import pytest

from fedi.text import link_html, plain_text, render_markdown, sanitize_remote_html

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe src="https://evil.example/"></iframe>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload="alert(1)"></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<form action="https://evil.example"><input name="p"></form>',
    '<scr<script>ipt>alert(1)</scr</script>ipt>',
    '<<script>script>alert(1)<</script>/script>',
    '<div onmouseover="alert(1)">hover</div>',
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<!--<script>alert(1)</script>-->',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<template><script>alert(1)</script></template>',
    '<textarea><script>alert(1)</script></textarea>',
    '<a href="  javascript:alert(1)">x</a>',
]

DANGEROUS_FRAGMENTS = [
    "<script", "onerror", "onload", "onclick", "onmouseover", "javascript:", "vbscript:",
    "data:text", "<style", "<iframe", "<svg", "<math", "<object", "<embed", "<form", "<input",
    "<meta", "<base", "style=", "<img", "<template", "<textarea",
]


def assert_harmless(html: str) -> None:
    lowered = html.lower()
    for fragment in DANGEROUS_FRAGMENTS:
        assert fragment not in lowered, (fragment, html)


@pytest.mark.parametrize("payload", HOSTILE)
def test_remote_html_loses_everything_dangerous(payload: str) -> None:
    assert_harmless(sanitize_remote_html(payload))


ALLOWED_LOCAL_TAGS = {
    "p", "br", "a", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h3", "h4", "h5", "h6", "hr", "del", "s",
}
TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)([^>]*)>")
ATTRIBUTE = re.compile(r'([a-zA-Z-:]+)="([^"]*)"')


def assert_only_allowed_markup(html: str) -> None:
    """Every real tag is allowed and carries only a safe href and our rel."""
    for closing, name, rest in TAG.findall(html):
        assert name.lower() in ALLOWED_LOCAL_TAGS, (name, html)
        if closing:
            continue
        for attr, value in ATTRIBUTE.findall(rest):
            assert attr in {"href", "rel"}, (attr, html)
            if attr == "href":
                assert value.startswith(("https://", "http://", "mailto:")), html


@pytest.mark.parametrize("payload", HOSTILE)
def test_markdown_shows_raw_html_as_text(payload: str) -> None:
    html = render_markdown(payload)
    assert_only_allowed_markup(html)
    assert "<script" not in html and "<img" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](vbscript:msgbox)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![img](https://tracker.example/pixel.png)",
    ],
)
def test_markdown_links_are_safe(source: str) -> None:
    html = render_markdown(source)
    assert 'href="javascript' not in html.lower()
    assert 'href="data' not in html.lower()
    assert 'href="vbscript' not in html.lower()
    assert "<img" not in html


def test_markdown_renders_the_allowed_subset() -> None:
    html = render_markdown(
        "# Titel\n\nHallo **vet** en *schuin* en `code`.\n\n> citaat\n\n- een\n- twee\n\n"
        "1. eerst\n\n[site](https://example.org)"
    )
    assert "<h3>Titel</h3>" in html  # h1 and h2 belong to the page around the bio
    assert "<strong>vet</strong>" in html and "<em>schuin</em>" in html
    assert "<code>code</code>" in html and "<blockquote>" in html
    assert "<ul>" in html and "<ol>" in html and "<li>een</li>" in html
    assert '<a href="https://example.org" rel="nofollow noopener ugc">site</a>' in html


def test_markdown_relative_links_are_dropped() -> None:
    html = render_markdown("[x](/admin) [y](//evil.example/)")
    assert 'href="/admin"' not in html
    assert "href=\"//evil" not in html


def test_markdown_empty() -> None:
    assert render_markdown("   \n ") == ""


def test_remote_html_keeps_mentions_and_hashtags() -> None:
    source = (
        '<p><span class="h-card" translate="no"><a href="https://mastodon.example/@anna" '
        'class="u-url mention" onclick="steal()">@<span>anna</span></a></span> kijk '
        '<a href="https://mastodon.example/tags/plein" class="mention hashtag evil" rel="tag">'
        "#<span>plein</span></a></p>"
    )
    html = sanitize_remote_html(source)
    assert '<span class="h-card">' in html
    assert 'class="u-url mention"' in html
    assert 'class="mention hashtag"' in html
    assert "evil" not in html and "onclick" not in html and "translate" not in html
    assert 'rel="nofollow noopener ugc"' in html


def test_remote_html_drops_script_content_keeps_text() -> None:
    html = sanitize_remote_html("<p>hallo<script>alert('x')</script> <b>wereld</b></p>")
    assert html == "<p>hallo <b>wereld</b></p>"


def test_plain_text() -> None:
    html = (
        '<p>Hallo <a href="https://e.example/x"><span class="invisible">https://</span>'
        "<span>e.example/x</span></a></p><p>tweede<br>regel &amp; meer</p>"
        "<script>geheim()</script>"
    )
    assert plain_text(html) == "Hallo e.example/x\n\ntweede\nregel & meer"


def test_plain_text_cuts_on_a_word() -> None:
    text = plain_text("<p>een twee drie vier vijf zes</p>", 15)
    assert text == "een twee drie…"
    assert len(text) <= 15
    assert plain_text("") == ""


def test_link_html_escapes() -> None:
    html = link_html('https://example.org/a?b="c"&d=<e>')
    assert html == (
        '<a href="https://example.org/a?b=&quot;c&quot;&amp;d=&lt;e&gt;" '
        'rel="me nofollow noopener" target="_blank">'
        "example.org/a?b=&quot;c&quot;&amp;d=&lt;e&gt;</a>"
    )
