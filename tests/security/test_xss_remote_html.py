"""Remote HTML with script payloads, received through the inbox, never runs in a browser.

A real ``fedi serve`` and a Mastodon-shaped account, mallory, on a real loopback HTTP
server (``loopback_mastodon``). Mallory's profile (name, bio, profile fields, avatar URL)
and her posts (content, content warning, title, attachments, hashtags, url) carry the
usual payloads: ``<script>``, ``onerror``/``onload``/``onclick`` handlers, ``javascript:``
links and frames, SVG and MathML tricks. She follows alice's tribe, alice follows her, and
she sends a public post mentioning alice, a private message to alice and a post to the
tribe. Then Chromium (JavaScript on) opens every page that shows them, as alice and as a
visitor, twice: as served (with our Content-Security-Policy) and with the CSP bypassed, so
the sanitiser alone is tested too. A dialog listener records any ``alert``; every payload
also sets ``window.__xss``. None may fire, no element may carry an event handler
attribute, and no link may point at ``javascript:``. Each page must show the marker words
of what it should show, so the payloads were really on it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from attack_helpers import AS, PUBLIC
from loopback_mastodon import LoopbackMastodon

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "Zonnebloem-42"
AP = "application/activity+json"


def payload(mark: str, n: int) -> str:
    """HTML carrying every trick, each of which would set ``window.__xss`` to ``n``."""
    run = f"window.__xss={n};alert({n})"
    return (
        f"<p>{mark} words "
        f"<script>{run}</script>"
        f'<img src="x" onerror="{run}">'
        f'<a href="javascript:{run}" id="js-{n}">click me</a>'
        f'<a href="JaVaScRiPt:{run}">again</a>'
        f'<svg onload="{run}"><circle r="1"/></svg>'
        f'<iframe src="javascript:{run}"></iframe>'
        f'<a href="#" onclick="{run}">hash</a>'
        f'<math><mi xlink:href="javascript:{run}">m</mi></math>'
        f'<form action="javascript:{run}"><button>go</button></form>'
        f'<object data="javascript:{run}"></object>'
        f'<p style="background:url(javascript:{run})">styled</p>'
        f"<noscript><p title=\"</noscript><img src=x onerror={run}>\"></p></noscript>"
        "</p>"
    )


def _hostile_profile(mallory: LoopbackMastodon) -> None:
    doc = mallory.actor.document()
    doc["name"] = '<script>window.__xss=90;alert(90)</script>Mallory"><img src=x onerror=alert(91)>'
    doc["summary"] = payload("BIO", 92)
    doc["icon"] = {"type": "Image", "url": "javascript:alert(93)"}
    doc["attachment"] = [
        {"type": "PropertyValue", "name": "<b onmouseover=alert(94)>site</b>",
         "value": '<a href="javascript:alert(95)">home</a>'},
    ]
    mallory.server.docs[mallory.actor.path] = doc


def _note(mallory: LoopbackMastodon, n: int, mark: str, **fields: Any) -> dict[str, Any]:
    path = f"/users/mallory/statuses/{n}"
    note = {
        "id": mallory.server.url(path), "type": "Note", "attributedTo": mallory.actor.id,
        "content": payload(mark, n),
        "summary": f'CW <img src=x onerror="window.__xss={n + 1};alert({n + 1})">',
        "url": f"javascript:alert({n + 2})",
        "published": "2026-01-01T10:00:00Z",
        "attachment": [{
            "type": "Document", "mediaType": "image/png", "url": f"javascript:alert({n + 3})",
            "name": f'"><img src=x onerror="window.__xss={n + 4};alert({n + 4})">',
        }],
        **fields,
    }
    mallory.server.docs[path] = {"@context": AS, **note}
    return note


async def _wait(check: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _check_page(browser: Any, base: str, login: bool, bypass_csp: bool,
                      pages: dict[str, str]) -> list[str]:
    context = await browser.new_context(java_script_enabled=True, bypass_csp=bypass_csp)
    dialogs: list[str] = []
    problems: list[str] = []
    try:
        page = await context.new_page()
        page.on("dialog", lambda dialog: (
            dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())
        ))
        if login:
            await page.goto(base + "/login")
            await page.get_by_label("Naam of e-mailadres").fill("alice")
            await page.get_by_label("Wachtwoord").fill(PASSWORD)
            await page.get_by_role("button", name="Inloggen").click()
            await page.wait_for_load_state()
        for path, mark in pages.items():
            await page.goto(base + path)
            await page.wait_for_load_state("load")
            # Click the payload links (visible or not, as a script would).
            for link in await page.locator("a:has-text('click me'), a:has-text('hash')").all():
                await link.dispatch_event("click")
                if page.url.split("#")[0] != (base + path).split("#")[0]:
                    await page.goto(base + path)
            await page.wait_for_timeout(150)
            who = "alice" if login else "visitor"
            where = f"{path} ({who}, csp {'off' if bypass_csp else 'on'})"
            text = await page.content()
            if mark and mark not in text:
                problems.append(f"{where}: the payload marker {mark!r} is not on the page")
            flag = await page.evaluate("() => window.__xss")
            if flag is not None:
                problems.append(f"{where}: a payload ran (window.__xss = {flag})")
            handlers = await page.evaluate(
                "() => Array.from(document.querySelectorAll('*')).flatMap(e =>"
                " Array.from(e.attributes).filter(a => /^on/i.test(a.name)"
                " || /^\\s*javascript:/i.test(a.value)).map(a => e.tagName + ' ' + a.name))"
            )
            if handlers:
                problems.append(f"{where}: dangerous attributes {handlers}")
    finally:
        await context.close()
    problems += [f"a dialog opened: {message!r}" for message in dialogs]
    return problems


async def test_remote_script_payloads_never_run(live_server_factory: Any, browser: Any) -> None:
    server = live_server_factory()
    base = server.base_url
    server.cli("user", "create", "alice", "--email", "alice@example.org", "--password", PASSWORD)
    token = server.cli("token", "create", "alice").stdout.strip().splitlines()[-1].strip()
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "alice")
    alice = f"{base}/users/alice"
    tribe = f"{base}/tribes/plein"

    with LoopbackMastodon("mallory") as mallory:
        _hostile_profile(mallory)
        # Mallory joins the tribe; alice follows mallory (mallory accepts).
        join = mallory.actor.activity("Follow", tribe)
        assert mallory.post(f"{tribe}/inbox", join).status_code == 202
        async with httpx.AsyncClient(timeout=10) as api:
            resp = await api.post(
                f"{base}/users/alice/outbox", json={"type": "Follow", "object": mallory.actor.id},
                headers={"Authorization": f"Bearer {token}", "Content-Type": AP},
            )
        assert resp.status_code == 201, resp.text
        follow = (await _wait(lambda: mallory.received("Follow"), "alice's Follow"))[0]
        accept = mallory.actor.activity("Accept", follow)
        assert mallory.post(f"{alice}/inbox", accept).status_code == 202
        await _wait(lambda: mallory.received("Accept"), "the tribe to accept mallory")

        followers = mallory.actor.id + "/followers"
        public = _note(mallory, 100, "PUBLIC-MARK", to=[PUBLIC], cc=[followers, alice], tag=[
            {"type": "Mention", "href": alice, "name": "@alice"},
            {"type": "Hashtag", "name": "#<img src=x onerror=alert(120)>",
             "href": "javascript:alert(121)"},
        ])
        direct = _note(mallory, 200, "DIRECT-MARK", to=[alice], tag=[
            {"type": "Mention", "href": alice, "name": "@alice"},
        ])
        in_tribe = _note(mallory, 300, "TRIBE-MARK", to=[PUBLIC], cc=[tribe, followers], tag=[
            {"type": "Mention", "href": tribe, "name": "@plein"},
        ])
        for note in (public, direct, in_tribe):
            create = mallory.actor.activity("Create", note, to=note["to"], cc=note.get("cc", []))
            inbox = f"{tribe}/inbox" if note is in_tribe else f"{alice}/inbox"
            assert mallory.post(inbox, create).status_code == 202

        async def shown() -> bool:
            async with httpx.AsyncClient(timeout=10) as anon:
                return "TRIBE-MARK" in (await anon.get(f"{tribe}/activity")).text

        await _wait(shown, "the tribe post to show on the tribe's activity page")

        as_alice = {
            "/timeline": "PUBLIC-MARK",
            "/notifications": "",
            "/follows": "mallory",
            "/tribes/plein": "",
            "/tribes/plein/activity": "TRIBE-MARK",
            "/tribes/plein/members": "mallory",
        }
        as_visitor = {
            "/tribes/plein": "", "/tribes/plein/activity": "TRIBE-MARK",
            "/tribes/plein/members": "mallory",
        }
        problems: list[str] = []
        for bypass_csp in (False, True):
            problems += await _check_page(browser, base, True, bypass_csp, as_alice)
            problems += await _check_page(browser, base, False, bypass_csp, as_visitor)
        assert not problems, "\n".join(problems)
        assert "Traceback" not in server.log()
