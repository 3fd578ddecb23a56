"""Moving accounts (FEP-7628, as Mastodon does it): aliases, moving away, moving here.

A move has two halves. The new account first names the old one among its aliases
(``alsoKnownAs``); then the old account announces ``Move{object: old, target: new}`` to its
followers, and each follower's server makes them follow the new account and unfollow the
old one, but only after it checked that the new account really lists the old one as an
alias (otherwise anyone could steal followers by sending a Move).

Here: :func:`set_aliases` (a person names their other accounts; the alias is how someone
moves *to* us), :func:`move_away` (a local person moves to another account: ``movedTo`` is
set, the account is read-only from then on, remote followers hear ``Move``) and
:func:`follow_the_move` (a Move came in from a remote account, or ours moved: the local
followers of the old account follow the new one). The caller fetches the target's current
document before (outside any transaction), so its ``also_known_as`` is fresh.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import follows
from fedi.domain.errors import Conflict, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_moves import AccountMoved
from fedi.domain.events_people import ProfileUpdated
from fedi.domain.passwords import verify_password
from fedi.state import AppState
from models import Actor, Follow, User

__all__ = [
    "MAX_ALIASES",
    "check_alias_of",
    "follow_the_move",
    "has_moved",
    "move_away",
    "require_not_moved",
    "set_aliases",
]

MAX_ALIASES = 10


def has_moved(actor: Actor | None) -> bool:
    """Whether ``actor`` moved to another account."""
    return actor is not None and bool(actor.moved_to)


def require_not_moved(actor: Actor) -> None:
    """Refuse a change by a local account that moved away (it is read-only)."""
    if actor.local and actor.moved_to:
        raise Conflict("This account has moved; it can no longer be changed.")


async def set_aliases(
    db: AsyncSession, state: AppState, person: Actor, aliases: list[Actor]
) -> list[str]:
    """Make ``aliases`` (resolved accounts) ``person``'s other accounts; returns their ids.

    Sent to everyone with a copy of the person as ``Update{Person}`` (with ``alsoKnownAs``).
    """
    require_not_moved(person)
    ids: list[str] = []
    for alias in aliases:
        if alias.id == person.id:
            raise ServiceError("An account cannot be an alias of itself.", field="aliases")
        if alias.ap_id not in ids:
            ids.append(alias.ap_id)
    if len(ids) > MAX_ALIASES:
        raise ServiceError("At most %(count)s aliases.", field="aliases", count=MAX_ALIASES)
    person.also_known_as = ids
    await db.flush()
    await emit(db, state.settings, ProfileUpdated(actor=person))
    return ids


def check_alias_of(target: Actor, origin: Actor) -> None:
    """Refuse unless ``target`` lists ``origin`` in its ``alsoKnownAs`` (the proof of a move)."""
    if origin.ap_id not in (target.also_known_as or []):
        raise ServiceError(
            "The new account must first list this account as an alias.", field="target"
        )


async def follow_the_move(
    db: AsyncSession, state: AppState, origin: Actor, target: Actor
) -> int:
    """Local followers of ``origin`` follow ``target`` and stop following ``origin``.

    Returns how many followers moved. Someone already following the target only drops the
    old follow; a refused follow (a blocked tribe, a gone account) keeps the old one.
    """
    followers = list(
        await db.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(
                Follow.followed_id == origin.id,
                Follow.accepted.is_(True),
                Actor.local.is_(True),
                Actor.type == "Person",
                Actor.gone_at.is_(None),
            )
            .order_by(Actor.id)
        )
    )
    moved = 0
    for follower in followers:
        if follower.id == target.id or follower.moved_to:
            continue
        try:
            await follows.follow(db, state, follower, target)
        except ServiceError:
            continue
        await follows.unfollow(db, state, follower, origin)
        moved += 1
    return moved


async def move_away(
    db: AsyncSession, state: AppState, user: User, target: Actor, password: str
) -> int:
    """Move ``user``'s account to ``target`` (confirmed with the password).

    ``target`` must list the account as an alias (the caller fetched it fresh). The account
    gets ``movedTo`` and becomes read-only; remote followers hear ``Move``; local followers
    follow ``target`` now. Returns how many local followers moved.
    """
    matches, _ = verify_password(user.password_hash, password)
    if not matches:
        raise ServiceError("The password is not right.", field="move_password")
    person = await db.get(Actor, user.actor_id)
    if person is None:
        raise ServiceError("This account has been deleted already.")
    require_not_moved(person)
    if target.id == person.id:
        raise ServiceError("You cannot move to this same account.", field="target")
    if target.gone_at is not None or target.type != "Person":
        raise ServiceError("You can only move to another person's account.", field="target")
    check_alias_of(target, person)
    person.moved_to = target.ap_id
    await db.flush()
    # As Mastodon does: the profile with ``movedTo`` to everyone with a copy (tribes too),
    # then the Move itself to the remote followers, read before they are moved below.
    await emit(db, state.settings, ProfileUpdated(actor=person))
    await emit(db, state.settings, AccountMoved(actor=person, target=target))
    return await follow_the_move(db, state, person, target)
