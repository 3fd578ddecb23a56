"""Account endpoints of the Mastodon API (issue 14).

Following a tribe is joining it, through the same tribe service the web's "join" button
uses (``tribe_members.join``): an open tribe admits at once, a tribe that needs approval
answers ``requested: true`` until an admin lets the person in. Following a person, or a
tribe on another server, goes through ``follows.follow`` like the web's follow button.

``follow_requests`` lists the requests to follow the person themself; requests to join a
tribe are answered on the tribe's members page or over C2S (a Mastodon account id could
not say which tribe an authorisation is for).
"""

from __future__ import annotations

from typing import Any

from quart import request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import follows, profiles, tribe_members, tribes
from fedi.domain.errors import ServiceError
from fedi.domain.tribe_access import membership
from fedi.http.mastodon.account_entity import account_entity
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    api_json,
    api_params,
    api_user,
    optional_api_user,
    paginate_link,
)
from fedi.state import get_state
from models import Actor, Follow, Tribe, TribeMember, User

blueprint = ApiBlueprint("mastodon_accounts", __name__)

DEFAULT_LIMIT = 40
MAX_LIMIT = 80


async def find_account(db: AsyncSession, account_id: str) -> Actor:
    """The actor with the Mastodon id ``account_id``; ``ApiError`` 404 when unknown."""
    actor = await db.get(Actor, int(account_id)) if account_id.isdigit() else None
    if actor is None or not await _shown(db, actor):
        raise ApiError(404, "Record not found")
    return actor


def _hidden_people() -> Any:
    """Ids of local people the site shows nowhere (waiting for approval, disabled)."""
    return (
        select(User.actor_id).where(User.approved.is_(False) | User.disabled.is_(True))
    )


async def _shown(db: AsyncSession, actor: Actor) -> bool:
    """Whether the API may show ``actor``: not gone, not our instance actor, and for a
    local person an approved, enabled account (the web's rule, ``visible_people_query``)."""
    if actor.gone_at is not None or actor.type == "Application":
        return False
    if actor.local and actor.type == "Person":
        hidden = await db.scalar(
            select(func.count()).select_from(_hidden_people().where(
                User.actor_id == actor.id
            ).subquery())
        )
        return not hidden
    return True


async def _tribe_of(db: AsyncSession, actor: Actor) -> Tribe | None:
    if actor.type != "Group":
        return None
    return await tribes.find_tribe_by_actor(db, actor)


async def relationship(db: AsyncSession, me: Actor, other: Actor) -> dict[str, Any]:
    """Mastodon's ``Relationship`` between ``me`` and ``other``."""
    outgoing = await follows.find_follow(db, me, other)
    incoming = await follows.find_follow(db, other, me)
    following = outgoing is not None and outgoing.accepted
    requested = outgoing is not None and not outgoing.accepted
    tribe = await _tribe_of(db, other)
    if tribe is not None and other.local:
        member = await membership(db, tribe, me)
        if member is not None and member.state == "active":
            following, requested = True, False
        elif member is not None and member.state == "pending":
            requested = not following
    return {
        "id": str(other.id),
        "following": following,
        "showing_reblogs": following,
        "notifying": False,
        "languages": None,
        "followed_by": incoming is not None and incoming.accepted,
        "blocking": False,
        "blocked_by": False,
        "muting": False,
        "muting_notifications": False,
        "requested": requested,
        "requested_by": incoming is not None and not incoming.accepted,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


# ------------------------------------------------------------------ the person's own


@blueprint.get("/api/v1/accounts/verify_credentials")
async def verify_credentials() -> Any:
    """The person behind the token, with ``source`` (what the edit screen shows)."""
    state = get_state()
    async with state.db.session() as db:
        _user, actor = await api_user(db, scopes=("profile",))
        actor = await db.get(Actor, actor.id) or actor
        entity = await account_entity(db, state.settings, actor, with_source=True)
    return api_json(entity)


@blueprint.patch("/api/v1/accounts/update_credentials")
async def update_credentials() -> Any:
    """Change the display name, the bio (``note``) and the avatar, through the web's
    profile service; fields the app did not send stay as they are."""
    state = get_state()
    params = await api_params()
    files = await request.files
    async with state.db.session() as db:
        _user, me = await api_user(db, scopes=("write:accounts",))
        actor = await db.get(Actor, me.id)
        assert actor is not None
        await profiles.update_profile(
            db, state.settings, actor,
            display_name=params.str("display_name", actor.display_name),
            bio=params.str("note", actor.bio_source),
            location=actor.location,
            languages=list(actor.languages or []),
            links=profiles.stored_links(actor),
            talents=[talent.tag for talent in actor.talents],
        )
        avatar = files.get("avatar")
        if avatar is not None:
            data = avatar.read(state.settings.max_avatar_bytes + 1)
            await profiles.set_avatar(db, state.settings, actor, data)
        entity = await account_entity(db, state.settings, actor, with_source=True)
    return api_json(entity)


# ------------------------------------------------------------------ finding accounts


async def _by_acct(db: AsyncSession, acct: str) -> Actor | None:
    settings = get_state().settings
    acct = acct.strip().lstrip("@")
    name, _at, host = acct.partition("@")
    if not name:
        return None
    if not host or host.lower() == settings.host.lower():
        query = select(Actor).where(
            Actor.local.is_(True), func.lower(Actor.username) == name.lower()
        )
    else:
        query = select(Actor).where(
            func.lower(Actor.username) == name.lower(), func.lower(Actor.domain) == host.lower()
        )
    actor = await db.scalar(query.where(Actor.gone_at.is_(None)).limit(1))
    if actor is None or not await _shown(db, actor):
        return None
    return actor


@blueprint.get("/api/v1/accounts/lookup")
async def lookup() -> Any:
    """An account we know by its ``acct`` (``name`` or ``name@host``); no remote fetch."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        await optional_api_user(db)
        actor = await _by_acct(db, params.str("acct"))
        if actor is None:
            raise ApiError(404, "Record not found")
        entity = await account_entity(db, state.settings, actor)
    return api_json(entity)


@blueprint.get("/api/v1/accounts/search")
async def search() -> Any:
    """Accounts we know whose name starts with ``q`` (the mention autocomplete of apps);
    ``name@host`` finds that account. Fetching unknown remote accounts is left to
    ``/api/v2/search`` with ``resolve``."""
    state = get_state()
    params = await api_params()
    query_text = params.str("q").strip().lstrip("@")
    limit = params.int("limit", DEFAULT_LIMIT, lowest=1, highest=MAX_LIMIT)
    offset = params.int("offset", 0, lowest=0, highest=10_000)
    async with state.db.session() as db:
        await api_user(db, scopes=("read:accounts",))
        if not query_text:
            return api_json([])
        if "@" in query_text:
            found = await _by_acct(db, query_text)
            actors = [found] if found is not None and offset == 0 else []
        else:
            pattern = _like_prefix(query_text.lower())
            rows = await db.scalars(
                select(Actor)
                .where(
                    Actor.gone_at.is_(None),
                    Actor.type.in_(("Person", "Group", "Service", "Organization")),
                    Actor.id.not_in(_hidden_people()),
                    func.lower(Actor.username).like(pattern, escape="\\")
                    | func.lower(Actor.display_name).like(pattern, escape="\\"),
                )
                # Our own people and tribes first, as the web's people directory does.
                .order_by(Actor.local.desc(), Actor.username, Actor.id)
                .offset(offset)
                .limit(limit)
            )
            actors = list(rows.all())
        entities = [await account_entity(db, state.settings, actor) for actor in actors]
    return api_json(entities)


def _like_prefix(text: str) -> str:
    """A LIKE pattern for names starting with ``text`` (its wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:100] + "%"


@blueprint.get("/api/v1/accounts/relationships")
async def relationships() -> Any:
    """Relationships to the accounts ``id[]`` (unknown ids are left out, as on Mastodon)."""
    params = await api_params()
    out: list[dict[str, Any]] = []
    async with get_state().db.session() as db:
        _user, me = await api_user(db, scopes=("read:follows",))
        for raw in params.list("id")[:MAX_LIMIT]:
            try:
                other = await find_account(db, str(raw))
            except ApiError:
                continue
            out.append(await relationship(db, me, other))
    return api_json(out)


@blueprint.get("/api/v1/accounts/<account_id>")
async def show(account_id: str) -> Any:
    """One account."""
    state = get_state()
    async with state.db.session() as db:
        await optional_api_user(db)
        actor = await find_account(db, account_id)
        entity = await account_entity(db, state.settings, actor)
    return api_json(entity)


# ------------------------------------------------------------------ following


@blueprint.post("/api/v1/accounts/<account_id>/follow")
async def follow(account_id: str) -> Any:
    """Follow a person, or join a tribe (following a tribe is joining it)."""
    state = get_state()
    async with state.db.session() as db:
        _user, me_detached = await api_user(db, scopes=("write:follows",))
        me = await db.get(Actor, me_detached.id)
        assert me is not None
        target = await find_account(db, account_id)
        if target.id == me.id:
            raise ApiError(403, "You cannot follow yourself")
        tribe = await _tribe_of(db, target)
        if tribe is not None and target.local:
            await tribe_members.join(db, state.settings, tribe, me)
        else:
            await follows.follow(db, state, me, target)
        answer = await relationship(db, me, target)
    return api_json(answer)


@blueprint.post("/api/v1/accounts/<account_id>/unfollow")
async def unfollow(account_id: str) -> Any:
    """Stop following a person or leave a tribe (or withdraw the request)."""
    state = get_state()
    async with state.db.session() as db:
        _user, me_detached = await api_user(db, scopes=("write:follows",))
        me = await db.get(Actor, me_detached.id)
        assert me is not None
        target = await find_account(db, account_id)
        tribe = await _tribe_of(db, target)
        if tribe is not None and target.local:
            member = await membership(db, tribe, me)
            if member is not None:
                await tribe_members.leave(db, state.settings, tribe, me)
            if await follows.find_follow(db, me, target) is not None:
                await follows.unfollow(db, state, me, target)
        elif await follows.find_follow(db, me, target) is not None:
            await follows.unfollow(db, state, me, target)
        answer = await relationship(db, me, target)
    return api_json(answer)


async def _page_params() -> tuple[int, int | None, int | None, int | None]:
    params = await api_params()

    def cursor(name: str) -> int | None:
        value = params.str(name)
        return int(value) if value.isdigit() else None

    limit = params.int("limit", DEFAULT_LIMIT, lowest=1, highest=MAX_LIMIT)
    return limit, cursor("max_id"), cursor("since_id"), cursor("min_id")


async def _actor_page(
    db: AsyncSession, id_column: Any, query: Any
) -> tuple[list[Actor], list[int]]:
    """One page of ``(Actor, cursor id)`` rows of ``query``, newest first."""
    limit, max_id, since_id, min_id = await _page_params()
    if max_id is not None:
        query = query.where(id_column < max_id)
    if since_id is not None:
        query = query.where(id_column > since_id)
    if min_id is not None:
        # The page right after ``min_id`` (oldest first), shown newest first.
        query = query.where(id_column > min_id).order_by(id_column.asc()).limit(limit)
        rows = list(reversed((await db.execute(query)).all()))
    else:
        query = query.order_by(id_column.desc()).limit(limit)
        rows = list((await db.execute(query)).all())
    return [row[0] for row in rows], [row[1] for row in rows]


async def _listing(account_id: str, direction: str) -> Any:
    state = get_state()
    async with state.db.session() as db:
        await optional_api_user(db)
        actor = await find_account(db, account_id)
        tribe = await _tribe_of(db, actor) if actor.local else None
        if tribe is not None and direction == "followers":
            # A tribe's followers are its members: following a tribe is joining it.
            query = (
                select(Actor, TribeMember.id)
                .join(TribeMember, TribeMember.actor_id == Actor.id)
                .where(TribeMember.tribe_id == tribe.id, TribeMember.state == "active")
            )
            actors, ids = await _actor_page(db, TribeMember.id, query)
        elif direction == "followers":
            query = (
                select(Actor, Follow.id)
                .join(Follow, Follow.follower_id == Actor.id)
                .where(Follow.followed_id == actor.id, Follow.accepted.is_(True))
            )
            actors, ids = await _actor_page(db, Follow.id, query)
        else:
            query = (
                select(Actor, Follow.id)
                .join(Follow, Follow.followed_id == Actor.id)
                .where(Follow.follower_id == actor.id, Follow.accepted.is_(True))
            )
            actors, ids = await _actor_page(db, Follow.id, query)
        entities = [await account_entity(db, state.settings, a) for a in actors]
    base = state.settings.url(f"/api/v1/accounts/{account_id}/{direction}")
    link = paginate_link(ids, base, {"limit": request.args.get("limit")})
    return api_json(entities, headers={"Link": link} if link else None)


@blueprint.get("/api/v1/accounts/<account_id>/followers")
async def followers(account_id: str) -> Any:
    """Who follows the account (a tribe: its members), newest first, with ``Link``."""
    return await _listing(account_id, "followers")


@blueprint.get("/api/v1/accounts/<account_id>/following")
async def following(account_id: str) -> Any:
    """Whom the account follows, newest first, with ``Link``."""
    return await _listing(account_id, "following")


# ------------------------------------------------------------------ follow requests


@blueprint.get("/api/v1/follow_requests")
async def follow_requests() -> Any:
    """Accounts asking to follow the person, with ``Link`` pagination."""
    state = get_state()
    async with state.db.session() as db:
        _user, me = await api_user(db, scopes=("read:follows",))
        query = (
            select(Actor, Follow.id)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == me.id, Follow.accepted.is_(False))
        )
        actors, ids = await _actor_page(db, Follow.id, query)
        entities = [await account_entity(db, state.settings, a) for a in actors]
    link = paginate_link(ids, state.settings.url("/api/v1/follow_requests"),
                         {"limit": request.args.get("limit")})
    return api_json(entities, headers={"Link": link} if link else None)


async def _answer_request(account_id: str, accept: bool) -> Any:
    state = get_state()
    async with state.db.session() as db:
        _user, me_detached = await api_user(db, scopes=("write:follows",))
        me = await db.get(Actor, me_detached.id)
        assert me is not None
        follower = await find_account(db, account_id)
        try:
            if accept:
                await follows.accept_follow_request(db, state, me, follower)
            else:
                await follows.reject_follow_request(db, state, me, follower)
        except ServiceError as exc:
            if exc.status == 404:
                raise ApiError(404, "Record not found") from exc
            raise
        answer = await relationship(db, me, follower)
    return api_json(answer)


@blueprint.post("/api/v1/follow_requests/<account_id>/authorize")
async def authorize_request(account_id: str) -> Any:
    """Let an account follow the person."""
    return await _answer_request(account_id, True)


@blueprint.post("/api/v1/follow_requests/<account_id>/reject")
async def reject_request(account_id: str) -> Any:
    """Turn down an account's follow request."""
    return await _answer_request(account_id, False)


@blueprint.get("/api/v1/accounts/<account_id>/featured_tags")
@blueprint.get("/api/v1/accounts/<account_id>/lists")
@blueprint.get("/api/v1/accounts/<account_id>/identity_proofs")
async def account_empty_lists(account_id: str) -> Any:
    """Featured tags, lists and identity proofs of an account: none (apps show them on
    profiles and expect a list)."""
    async with get_state().db.session() as db:
        await find_account(db, account_id)
    return api_json([])


@blueprint.get("/api/v1/accounts/familiar_followers")
async def familiar_followers() -> Any:
    """Followers of each ``id[]`` that the person follows too (Mastodon 3.5)."""
    state = get_state()
    params = await api_params()
    out: list[dict[str, Any]] = []
    async with state.db.session() as db:
        _user, me = await api_user(db, scopes=("read:follows",))
        for raw in params.list("id")[:MAX_LIMIT]:
            account_id = str(raw)
            if not account_id.isdigit():
                continue
            mine = select(Follow.followed_id).where(
                Follow.follower_id == me.id, Follow.accepted.is_(True)
            )
            rows = await db.scalars(
                select(Actor)
                .join(Follow, Follow.follower_id == Actor.id)
                .where(
                    Follow.followed_id == int(account_id), Follow.accepted.is_(True),
                    Actor.id.in_(mine),
                )
                .limit(10)
            )
            accounts = [await account_entity(db, state.settings, a) for a in rows.all()]
            out.append({"id": account_id, "accounts": accounts})
    return api_json(out)

