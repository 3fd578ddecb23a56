"""Small reads for the notification tests: who got which notification kinds."""

from __future__ import annotations

from sqlalchemy import select, update

from fedi.state import FediApp
from models import Actor, Notification, User, utcnow


async def kinds_of(app: FediApp, username: str) -> list[str]:
    """The kinds of the notifications of the local person ``username``, oldest first."""
    async with app.state.db.session() as db:
        person = await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == username)
        )
        assert person is not None, username
        rows = await db.scalars(
            select(Notification.kind)
            .where(Notification.recipient_id == person.id)
            .order_by(Notification.id)
        )
        return list(rows)


async def notes_of(app: FediApp, username: str, kind: str) -> list[Notification]:
    """The notifications of ``kind`` of the local person ``username``."""
    async with app.state.db.session() as db:
        person = await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == username)
        )
        assert person is not None, username
        rows = await db.scalars(
            select(Notification)
            .where(Notification.recipient_id == person.id, Notification.kind == kind)
            .order_by(Notification.id)
        )
        return list(rows.unique().all())


async def confirm_all_addresses(app: FediApp) -> None:
    """Mark every account's e-mail address as confirmed (as the confirmation link does)."""
    async with app.state.db.session() as db:
        await db.execute(update(User).values(email_confirmed_at=utcnow()))
