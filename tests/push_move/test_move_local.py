"""A move between two accounts of one instance, on SQLite and PostgreSQL.

Alice moves to her new account alicia on the same server: alicia lists alice as an alias
first (without it the move is refused and nothing changes); then carol, who followed
alice, follows alicia and no longer alice, and alice's document says ``movedTo``. No
``Move`` is queued (nobody elsewhere follows alice).
"""

from __future__ import annotations

from social_helpers import token_for
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import account_move, follows
from fedi.domain.errors import ServiceError
from fedi.state import FediApp
from models import Delivery, Follow, OutboxActivity, User
from tests.tribe_helpers import PASSWORD, actor_named, make_person


async def _user(db: AsyncSession, name: str) -> User:
    user = await db.scalar(select(User).where(User.email == f"{name}@example.org"))
    assert user is not None
    return user


async def test_a_move_within_one_instance(app: FediApp) -> None:
    for name in ("alice", "alicia", "carol"):
        await make_person(app, name)
    async with app.state.db.session() as db:
        await follows.follow(db, app.state, await actor_named(db, "carol"),
                             await actor_named(db, "alice"))

    async with app.state.db.session() as db:
        alicia = await actor_named(db, "alicia")
        try:
            await account_move.move_away(db, app.state, await _user(db, "alice"), alicia,
                                         PASSWORD)
        except ServiceError as exc:
            assert exc.field == "target"
        else:
            raise AssertionError("a move to an account without the alias must be refused")
    async with app.state.db.session() as db:
        assert (await actor_named(db, "alice")).moved_to is None

    async with app.state.db.session() as db:
        alicia = await actor_named(db, "alicia")
        alice = await actor_named(db, "alice")
        await account_move.set_aliases(db, app.state, alicia, [alice])
    async with app.state.db.session() as db:
        moved = await account_move.move_away(
            db, app.state, await _user(db, "alice"), await actor_named(db, "alicia"), PASSWORD
        )
        assert moved == 1
    async with app.state.db.session() as db:
        carol = await actor_named(db, "carol")
        alice = await actor_named(db, "alice")
        alicia = await actor_named(db, "alicia")
        followed = set(await db.scalars(
            select(Follow.followed_id).where(Follow.follower_id == carol.id,
                                             Follow.accepted.is_(True))))
        assert followed == {alicia.id}
        assert alice.moved_to == alicia.ap_id
        assert await db.scalar(select(func.count(Delivery.id))) == 0
        assert await db.scalar(select(func.count(OutboxActivity.id)).where(
            OutboxActivity.type == "Move")) == 1
    document = await (await app.test_client().get(
        "/users/alice", headers={"Accept": "application/activity+json"})).get_json()
    assert document["movedTo"] == "http://localhost:8000/users/alicia"
    # Read-only over C2S too: the outbox refuses a post of the moved account.
    token = await token_for(app, "alice")
    refused = await app.test_client().post(
        "/users/alice/outbox",
        json={"type": "Note", "content": "still here?",
              "to": ["https://www.w3.org/ns/activitystreams#Public"]},
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": "application/activity+json"},
    )
    assert refused.status_code == 409
