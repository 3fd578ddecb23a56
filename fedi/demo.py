"""Demo content for a fresh instance (placeholder: being built)."""

from __future__ import annotations

from fedi.state import AppState


async def seed_demo(state: AppState) -> None:
    """Seed demo content into an empty database."""
    del state
