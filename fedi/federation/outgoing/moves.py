"""``Move{Person}`` (FEP-7628) when a local person moved to another account.

Mastodon's shape: ``actor`` and ``object`` are the old account, ``target`` the new one,
addressed to the old account's followers. Sent to the remote followers only
(``to_local=False``): the local ones were moved by the domain service in the same
transaction. Each receiving server checks the target's ``alsoKnownAs`` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import AS_CONTEXT
from fedi.domain.events import subscribes
from fedi.domain.events_moves import AccountMoved
from fedi.domain.local_actors import followers_url_of
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.settings import Settings

__all__ = ["build_move", "on_account_moved"]


def build_move(activity_id: str, origin_id: str, target_id: str, followers: str) -> dict[str, Any]:
    """A ``Move`` of ``origin_id`` to ``target_id``, addressed to the origin's followers."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Move",
        "actor": origin_id,
        "object": origin_id,
        "target": target_id,
        "to": [followers],
    }


@subscribes(AccountMoved)
async def on_account_moved(db: AsyncSession, settings: Settings, event: AccountMoved) -> None:
    """Queue ``Move`` for the moved person's remote followers."""
    person = event.actor
    move = build_move(
        new_activity_id(settings, "move"), person.ap_id, event.target.ap_id,
        followers_url_of(person),
    )
    await publish(db, settings, person, move, to_local=False)
