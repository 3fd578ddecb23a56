"""Creating the actor row of a local person or tribe: ids, endpoints and a key pair.

People and tribes are both local actors with the same endpoints (inbox, outbox, followers,
following, shared inbox, ``#main-key``), so the layout of those URLs lives here once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.keys import generate_rsa_keypair
from fedi.settings import Settings
from models import Actor

# Where each local actor type lives: Person at /users/<name>, Group (tribe) at /tribes/<slug>.
ACTOR_PATHS = {"Person": "/users/{name}", "Group": "/tribes/{name}"}
# The HTML page of each type (a Group's id is its page too, served by content negotiation).
PAGE_PATHS = {"Person": "/@{name}", "Group": "/tribes/{name}"}


def followers_url_of(actor: Actor) -> str:
    """The actor's followers collection (ours follow the fixed URL layout)."""
    return actor.followers_url or f"{actor.ap_id}/followers"


async def create_local_actor(
    db: AsyncSession,
    settings: Settings,
    *,
    username: str,
    actor_type: str = "Person",
    display_name: str = "",
    manually_approves_followers: bool = False,
) -> Actor:
    """Add a local actor of ``actor_type`` with its endpoints and a fresh RSA key pair.

    ``username`` must already be validated and known to be free
    (``fedi.domain.names``); the unique ``(username, domain)`` constraint is the last guard.
    """
    private_pem, public_pem = generate_rsa_keypair()
    actor_id = settings.url(ACTOR_PATHS[actor_type].format(name=username))
    actor = Actor(
        ap_id=actor_id,
        type=actor_type,
        local=True,
        username=username,
        domain=settings.host,
        display_name=display_name.strip(),
        url=settings.url(PAGE_PATHS[actor_type].format(name=username)),
        inbox=f"{actor_id}/inbox",
        outbox=f"{actor_id}/outbox",
        followers_url=f"{actor_id}/followers",
        following_url=f"{actor_id}/following",
        shared_inbox=settings.url("/inbox"),
        key_id=f"{actor_id}#main-key",
        public_key_pem=public_pem,
        private_key_pem=private_pem,
        manually_approves_followers=manually_approves_followers,
        languages=[],
        links=[],
    )
    db.add(actor)
    await db.flush()
    return actor
