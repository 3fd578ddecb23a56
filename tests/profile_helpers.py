"""Plain async factories and helpers for the profile, actor and discovery tests."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from fedi.domain.accounts import create_user
from fedi.domain.profiles import update_profile
from fedi.state import FediApp
from models import Actor, User

PASSWORD = "Vlinder-tulp-2024!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid, tiny RGB PNG built by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def make_person(
    app: FediApp,
    username: str,
    *,
    approved: bool = True,
    disabled: bool = False,
    **profile: Any,
) -> Actor:
    """Create a local person (with the accounts service) and optionally fill their profile."""
    state = app.state
    async with state.db.session() as db:
        user = await create_user(
            db, state.settings, username=username, email=f"{username}@example.org",
            password=PASSWORD, approved=approved,
        )
        user.disabled = disabled
        actor = user.actor
        if profile:
            fields: dict[str, Any] = {
                "display_name": "", "bio": "", "location": "", "languages": [], "links": [],
                "talents": "",
            }
            fields.update(profile)
            await update_profile(db, state.settings, actor, **fields)
    return actor


async def get_actor(app: FediApp, username: str) -> Actor:
    """Reload a local actor with its talents."""
    from sqlalchemy import select

    async with app.state.db.session() as db:
        actor = (await db.scalars(select(Actor).where(Actor.username == username))).one()
        assert isinstance(actor.talents, list)
        return actor


async def get_user(app: FediApp, username: str) -> User:
    """Reload a local user."""
    from sqlalchemy import select

    async with app.state.db.session() as db:
        return (
            await db.scalars(select(User).join(Actor).where(Actor.username == username))
        ).one()


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


async def login(client: Any, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form."""
    page = await client.get("/login")
    token = csrf_from(await page.get_data(as_text=True))
    response = await client.post(
        "/login", form={"csrf_token": token, "login": username, "password": password}
    )
    assert response.status_code == 302, await response.get_data(as_text=True)


def multipart(
    fields: list[tuple[str, str]], files: Sequence[tuple[str, str, str, bytes]] = ()
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with repeated fields (several ``languages``) and files.

    ``files`` are ``(field, filename, content type, data)``; returns body and headers.
    """
    boundary = "----profiletestboundary7MA4YWxk"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode() + b"\r\n"
        )
    for name, filename, content_type, data in files:
        parts.append(
            (
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            ).encode()
            + data + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
