"""``Update{Person}`` when a local person changes their profile.

Mastodon refetches a remote profile only about once a day; until then it shows the old name,
avatar and fields, and our other instances would match the old talents. So, as Mastodon does
for its own accounts, the change is pushed: to the person's followers, and (blind, so the
audience is not published) to the servers that hold a copy of the person because they take
part in the same tribes: remote members and followers of the local tribes the person is an
active member of, and the remote tribes the person follows. Deliveries collapse onto shared
inboxes, so a server gets one copy however many of its people qualify.

``Delete{Person}`` when a local account is deleted, in Mastodon's shape (actor and object are
the person, to Public): to the followers, the servers that know the person, and everyone the
person followed, so their copies of the person and of their notes go too. It runs at emit
time, before the follows are removed, which is why it can still read them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_delete, build_update
from activitypub.vocab import PUBLIC
from fedi.domain.events import subscribes
from fedi.domain.events_people import AccountDeleted, ProfileUpdated
from fedi.domain.local_actors import followers_url_of
from fedi.domain.talents import ensure_talents_loaded
from fedi.federation.documents.actors import actor_context, person_document
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.settings import Settings
from models import Actor, Follow, Tribe, TribeMember

__all__ = ["servers_that_know"]


async def servers_that_know(db: AsyncSession, person: Actor) -> list[str]:
    """Ids of remote actors, besides followers, whose servers hold a copy of ``person``."""
    tribes = (
        select(Tribe.actor_id)
        .join(TribeMember, TribeMember.tribe_id == Tribe.id)
        .where(TribeMember.actor_id == person.id, TribeMember.state == "active")
    )
    members = (
        select(Actor.ap_id)
        .join(TribeMember, TribeMember.actor_id == Actor.id)
        .join(Tribe, Tribe.id == TribeMember.tribe_id)
        .where(
            Tribe.actor_id.in_(tribes), TribeMember.state == "active", Actor.local.is_(False)
        )
    )
    tribe_followers = (
        select(Actor.ap_id)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(
            Follow.followed_id.in_(tribes), Follow.accepted.is_(True), Actor.local.is_(False)
        )
    )
    followed_groups = (
        select(Actor.ap_id)
        .join(Follow, Follow.followed_id == Actor.id)
        .where(
            Follow.follower_id == person.id,
            Follow.accepted.is_(True),
            Actor.local.is_(False),
            Actor.type == "Group",
        )
    )
    found: set[str] = set()
    for query in (members, tribe_followers, followed_groups):
        found.update(await db.scalars(query))
    return sorted(found)


@subscribes(ProfileUpdated)
async def on_profile_updated(
    db: AsyncSession, settings: Settings, event: ProfileUpdated
) -> None:
    """Send ``Update{Person}`` with the new profile to everyone who has a copy of it."""
    person = event.actor
    await ensure_talents_loaded(db, person)
    document = person_document(settings, person)
    document.pop("@context", None)
    followers = followers_url_of(person)
    update = build_update(
        new_activity_id(settings, "update"), person.ap_id, document, [PUBLIC], [followers]
    )
    update["@context"] = actor_context(settings)
    others = await servers_that_know(db, person)
    if others:
        update["bto"] = others  # counted as recipients by publish, never sent
    await publish(db, settings, person, update, to_local=False)


@subscribes(AccountDeleted)
async def on_account_deleted(
    db: AsyncSession, settings: Settings, event: AccountDeleted
) -> None:
    """Queue ``Delete{Person}`` for every server that has a copy of the deleted person."""
    person = event.actor
    followers = followers_url_of(person)
    activity = build_delete(
        new_activity_id(settings, "delete"), person.ap_id, person.ap_id, [PUBLIC], [followers]
    )
    followed = await db.scalars(
        select(Actor.ap_id)
        .join(Follow, Follow.followed_id == Actor.id)
        .where(Follow.follower_id == person.id, Actor.local.is_(False))
    )
    others = sorted(set(await servers_that_know(db, person)) | set(followed))
    if others:
        activity["bto"] = others  # counted as recipients by publish, never sent
    await publish(db, settings, person, activity, to_local=False)
