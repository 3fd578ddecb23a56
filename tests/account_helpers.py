"""Plain helpers for the account tests: users made with the service, forms posted with CSRF."""

from __future__ import annotations

import re
from typing import Any

from fedi.domain import accounts
from fedi.state import FediApp
from models import User

PASSWORD = "Zonnebloem-42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def make_user(app: FediApp, name: str, **kwargs: Any) -> User:
    """A local account made with the accounts service (password ``PASSWORD``)."""
    state = app.state
    async with state.db.session() as db:
        return await accounts.create_user(
            db, state.settings, username=name, email=f"{name}@example.org", password=PASSWORD,
            **kwargs,
        )


async def csrf_from(client: Any, page: str) -> str:
    """GET ``page`` and return the form token in it (the client keeps the cookies)."""
    response = await client.get(page)
    body = await response.get_data(as_text=True)
    found = _CSRF.search(body)
    assert found, f"no csrf_token on {page} ({response.status_code})"
    return found.group(1)


async def post_form(client: Any, page: str, url: str, data: dict[str, str]) -> Any:
    """Post a form as a browser would: token from ``page``, then POST to ``url``."""
    token = await csrf_from(client, page)
    return await client.post(url, form={"csrf_token": token, **data})


async def login(client: Any, name: str, password: str = PASSWORD, next_path: str = "") -> Any:
    """Log ``client`` in through the login form."""
    page = "/login" + (f"?next={next_path}" if next_path else "")
    data = {"login": name, "password": password}
    if next_path:
        data["next"] = next_path
    return await post_form(client, page, "/login", data)


async def text(response: Any) -> str:
    """The body of a response as text."""
    return str(await response.get_data(as_text=True))
