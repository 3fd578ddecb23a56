"""The home page, the health check and the language switch."""

from __future__ import annotations

from typing import Any


async def test_healthz_reports_database(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert (await response.get_json()) == {"status": "ok"}


async def test_home_is_dutch_by_default(client: Any) -> None:
    response = await client.get("/")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="nl">' in body
