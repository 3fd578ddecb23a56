"""The axe-core helper itself: it finds a real violation, passes a clean page, and works with
JavaScript off and under the instance's strict Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest
from axe_helpers import assert_accessible


@pytest.mark.browser
async def test_axe_reports_violations_and_passes_clean_pages(browser: Any) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.set_content(
            "<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
            "<h1>Hi</h1><img src='data:,'><input type='text'></main></body></html>"
        )
        with pytest.raises(AssertionError) as failure:
            await assert_accessible(page, context="broken sample")
        message = str(failure.value)
        assert "image-alt" in message and "label" in message and "broken sample" in message

        await page.set_content(
            "<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
            "<h1>Hi</h1><img src='data:,' alt='A dot'><label for='x'>Name</label>"
            "<input id='x' type='text'></main></body></html>"
        )
        await assert_accessible(page, context="clean sample")
    finally:
        await context.close()


@pytest.mark.browser
@pytest.mark.live
async def test_axe_runs_under_the_instance_csp(live_server_factory: Any, browser: Any) -> None:
    server = live_server_factory()
    page = await browser.new_page()
    try:
        response = await page.goto(server.base_url + "/about")
        assert response is not None
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        assert await page.evaluate("() => typeof window.axe") == "undefined"
        await assert_accessible(page, context="about page")
        assert await page.evaluate("() => typeof window.axe") == "object"
    finally:
        await page.close()
