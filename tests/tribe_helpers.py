"""Plain async factories for the tribe tests: people, remote actors, tribes, form posts."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from fedi.domain import tribes
from fedi.domain.accounts import create_user
from fedi.state import FediApp
from models import Actor, Tribe

PASSWORD = "Vlinder-tulp-2024!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def make_person(app: FediApp, username: str, *, is_admin: bool = False) -> Actor:
    """A local person with an account (e-mail ``<username>@example.org``)."""
    async with app.state.db.session() as db:
        user = await create_user(
            db, app.state.settings, username=username, email=f"{username}@example.org",
            password=PASSWORD, is_admin=is_admin,
        )
        return user.actor


async def make_remote(app: FediApp, username: str, domain: str = "remote.example") -> Actor:
    """A remote person as the federation code would have stored them."""
    ap_id = f"https://{domain}/users/{username}"
    async with app.state.db.session() as db:
        actor = Actor(
            ap_id=ap_id, type="Person", local=False, username=username, domain=domain,
            inbox=f"{ap_id}/inbox", languages=[], links=[],
        )
        db.add(actor)
        await db.flush()
        return actor


async def make_tribe(
    app: FediApp, slug: str, owner: str, *, join_mode: str = "open", **fields: Any
) -> Tribe:
    """A tribe created by the local person ``owner`` (who becomes its admin)."""
    async with app.state.db.session() as db:
        creator = await actor_named(db, owner)
        return await tribes.create_tribe(
            db, app.state.settings, creator, slug=slug, name=fields.pop("name", slug.title()),
            join_mode=join_mode, **fields,
        )


async def actor_named(db: Any, username: str, domain: str | None = None) -> Actor:
    """The actor called ``username`` (local unless ``domain`` is given)."""
    query = select(Actor).where(Actor.username == username)
    query = query.where(Actor.domain == domain) if domain else query.where(Actor.local.is_(True))
    return (await db.scalars(query)).one()


async def csrf_of(client: Any, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    response = await client.get(path)
    match = _CSRF.search(await response.get_data(as_text=True))
    assert match, f"no csrf token on {path} ({response.status_code})"
    return match.group(1)


async def login(client: Any, username: str) -> None:
    """Log in through the login form."""
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login", form={"login": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code in (302, 303), response.status_code


async def post_form(
    client: Any, path: str, form: dict[str, Any], *, page: str | None = None
) -> Any:
    """POST a form to ``path`` with a CSRF token taken from ``page`` (default: ``path``)."""
    token = await csrf_of(client, page or path)
    return await client.post(path, form={**form, "csrf_token": token})
