"""Two real ``fedi serve`` processes on one PostgreSQL schema: a change made through one
reaches the event streams of both (``LISTEN``/``NOTIFY``, ``fedi.live.pg_bridge``)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from browser_helpers import PASSWORD, make_people

from tests.web_initiative.sse_helpers import http_stream

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _csrf(client: httpx.AsyncClient, url: str) -> str:
    page = await client.get(url, follow_redirects=True)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {url}: {page.status_code}"
    return match.group(1)


async def _login(client: httpx.AsyncClient, base: str, name: str) -> None:
    token = await _csrf(client, f"{base}/login")
    response = await client.post(
        f"{base}/login", data={"login": name, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code in (302, 303), response.text


async def _post(client: httpx.AsyncClient, page: str, url: str, data: dict[str, str]) -> str:
    token = await _csrf(client, page)
    response = await client.post(url, data={**data, "csrf_token": token})
    assert response.status_code == 303, response.text
    return response.headers["Location"]


@pytest.mark.live
async def test_a_message_posted_on_one_process_reaches_the_other(
    live_server_factory: Any,
) -> None:
    one = live_server_factory("postgresql")
    two = live_server_factory(
        "postgresql", FEDI_DATABASE_SCHEMA=one.env["FEDI_DATABASE_SCHEMA"],
        # Both processes serve the same instance (one database, one name).
        FEDI_BASE_URL=one.base_url, FEDI_SECRET_KEY=one.env["FEDI_SECRET_KEY"],
    )
    make_people(one, "ann", "bob")
    one.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "ann")
    async with httpx.AsyncClient() as ann, httpx.AsyncClient() as bob:
        await _login(ann, one.base_url, "ann")
        location = await _post(
            ann, f"{one.base_url}/tribes/plein/initiatives/new",
            f"{one.base_url}/tribes/plein/initiatives/new",
            {"name": "Bankjes timmeren", "summary": "Voor het plein", "phase": "idea",
             "visibility": "public", "budget_type": "none"},
        )
        initiative_id = int(location.rstrip("/").rsplit("/", 1)[1])
        page = f"{one.base_url}/initiatives/{initiative_id}"
        await _login(bob, two.base_url, "bob")
        async with http_stream(bob, f"{two.base_url}/live?initiative={initiative_id}") as far, \
                http_stream(ann, f"{one.base_url}/live?initiative={initiative_id}") as near:
            await far.wait_for("ready")
            await near.wait_for("ready")
            await _post(ann, page, f"{page}/messages", {"content": "Wie heeft een zaag?"})
            message = await far.wait_for("message")
            assert isinstance(message.data["update_id"], int)
            # The process that made the change hears it back through the same channel.
            assert (await near.wait_for("message")).data == message.data
            # And the other way round: bob supports the initiative on the second process.
            await _post(
                bob, f"{two.base_url}/initiatives/{initiative_id}",
                f"{two.base_url}/initiatives/{initiative_id}/support", {},
            )
            await near.wait_for("people")
            await near.wait_for("progress")
