"""What the demo seed steps share (see ``fedi.demo``): kept apart so the steps import it
without importing the module that runs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.settings import Settings
from models import Actor


@dataclass
class DemoContext:
    """What the seed steps share: the session, settings and the people made so far."""

    db: AsyncSession
    settings: Settings
    people: dict[str, Actor] = field(default_factory=dict)
    # Printed once at the end (only the admin's password is ever shown).
    credentials: list[tuple[str, str]] = field(default_factory=list)
