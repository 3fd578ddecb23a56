"""Web Push from the real page in Chromium, through a live ``fedi serve`` and its worker.

The page's script (``fedi/static/js/push.js``) registers the service worker, asks for
permission, reads the VAPID key and subscribes; the test then sends itself a test
notification with the page's button, and the live server's worker delivers it to the push
service on loopback, where it is decrypted and its VAPID signature checked.

The one part replaced is ``PushManager.subscribe``: in a browser it asks the vendor's push
service on the internet (Google's for Chromium) for an endpoint, which a test cannot reach.
The replacement returns a subscription whose endpoint is the loopback push service and
whose keys the test holds, and records the ``applicationServerKey`` the script passed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.browser_helpers import PASSWORD, make_people
from tests.push_move.push_helpers import Browser, PushService, verify_vapid

FAKE_SUBSCRIBE = """
(() => {
  const data = %s;
  // Kept across reloads, as a browser keeps its subscription.
  const make = () => ({
    endpoint: data.endpoint,
    toJSON: () => data,
    unsubscribe: () => {
      localStorage.removeItem("fake-push");
      current = null;
      return Promise.resolve(true);
    },
  });
  let current = localStorage.getItem("fake-push") ? make() : null;
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__serverKey = btoa(String.fromCharCode(...key))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    localStorage.setItem("fake-push", "1");
    current = make();
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();
"""


async def _wait_for(check: Any, what: str) -> None:
    deadline = time.monotonic() + 60.0
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@pytest.mark.browser
@pytest.mark.live
async def test_the_page_subscribes_and_a_test_push_arrives(
    live_server_factory: Any, browser: Any, push_service: PushService
) -> None:
    server = live_server_factory()
    make_people(server, "anna")
    keys = Browser(push_service.endpoint("chromium"))
    context = await browser.new_context()
    try:
        await context.grant_permissions(["notifications"], origin=server.base_url)
        await context.add_init_script(FAKE_SUBSCRIBE % json.dumps(keys.subscription_json()))
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(server.base_url + "/login")
        await page.get_by_label("Naam of e-mailadres").fill("anna")
        await page.get_by_label("Wachtwoord").fill(PASSWORD)
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_load_state()

        await page.goto(server.base_url + "/settings/push")
        status = page.locator("#push-status")
        enable = page.get_by_role("button", name="Meldingen ontvangen in deze browser")
        await enable.wait_for(state="visible")
        assert await status.inner_text() == "Deze browser ontvangt je meldingen niet."
        await enable.click()
        await page.get_by_role("button", name="Geen meldingen meer in deze browser").wait_for(
            state="visible")
        assert await status.inner_text() == "Deze browser ontvangt je meldingen."
        public_key = json.loads(
            await (await page.request.get(server.base_url + "/push/vapid-public-key")).text()
        )["publicKey"]
        assert await page.evaluate("window.__serverKey") == public_key

        await page.reload()
        assert "Browsers die je meldingen ontvangen: 1" in await page.content()
        await page.get_by_role("button", name="Stuur een testmelding").click()
        await page.wait_for_load_state()
        assert "Er is een testmelding onderweg." in await page.content()
        await _wait_for(lambda: push_service.received, "the test push")
        _path, headers, body = push_service.received[0]
        payload = keys.decrypt(body)
        assert payload["body"] == "Pushmeldingen werken in deze browser."
        verify_vapid(headers["Authorization"], public_key,
                     f"http://127.0.0.1:{push_service.port}")

        # Stopping in this browser forgets the subscription on the server.
        await page.get_by_role("button", name="Geen meldingen meer in deze browser").click()
        await enable.wait_for(state="visible")
        await page.reload()
        assert "Browsers die je meldingen ontvangen: 0" in await page.content()
        assert errors == []
    finally:
        await context.close()
