"""Posting in a tribe, removing a post (moderators) and reporting one, from the web.

The tribe's activity page shows its threads (``tribe_distribution.tribe_threads``); these
forms act on them through the same services the inbound ActivityPub handlers use: a post
written here is a public note addressed to the tribe (``cc`` + a ``Mention``, the way
Mastodon users post into a group), and the tribe takes it in within the same transaction
by the rules that apply to a remote member's post.
"""

from __future__ import annotations

from quart import Blueprint, Response, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import notes, tribe_moderation
from fedi.domain.errors import ServiceError
from fedi.domain.tribe_access import role_of
from fedi.federation.outgoing import tribe_distribution
from fedi.federation.remote.mentions import mentioned_actors, resolve_mentions
from fedi.http.web.render import _
from fedi.http.web.tribes import _act
from fedi.state import get_state
from models import Actor, Tribe

blueprint = Blueprint("tribe_posts", __name__)

MAX_OBJECT_URL = 2048


async def _object_field() -> str:
    form = await request.form
    value = form.get("object", "").strip()
    if not value or len(value) > MAX_OBJECT_URL or not value.startswith(("http://", "https://")):
        raise ServiceError("This post does not exist (any more).")
    return value


@blueprint.post("/tribes/<slug>/posts")
async def compose(slug: str) -> Response:
    """A member writes a post in the tribe."""
    form = await request.form
    text = form.get("content", "")
    # Mentions are looked up (WebFinger) before the write, outside its transaction.
    resolved = await resolve_mentions(get_state(), text)

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        if await role_of(db, tribe, actor) is None:
            raise ServiceError("Only members of this tribe may do this.")
        await notes.create_note(
            db, get_state(), actor, text, "public", recipients=[tribe.actor],
            mentions=await mentioned_actors(db, resolved),
        )
        return _("Your post has been sent to %(name)s.", name=tribe.name)

    return await _act(slug, work, url_for("tribes.activity", slug=slug))


@blueprint.post("/tribes/<slug>/posts/remove")
async def remove(slug: str) -> Response:
    """An admin or moderator removes a post from the tribe (and from its followers)."""

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        object_id = await _object_field()
        await tribe_distribution.remove_post(db, get_state(), tribe, actor, object_id)
        return _("The post has been removed.")

    return await _act(slug, work, url_for("tribes.activity", slug=slug))


@blueprint.post("/tribes/<slug>/posts/report")
async def report(slug: str) -> Response:
    """Anyone logged in reports a post to the tribe's moderators."""
    form = await request.form
    comment = form.get("comment", "")

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        object_id = await _object_field()
        post = await tribe_distribution.find_post(db, tribe, object_id)
        if post is None:
            raise ServiceError("This post does not exist (any more).")
        await tribe_moderation.file_report(
            db, get_state().settings, actor, target_ap_ids=[object_id], comment=comment,
            tribe=tribe,
        )
        return _("Thank you. The moderators of %(name)s will look at it.", name=tribe.name)

    return await _act(slug, work, url_for("tribes.activity", slug=slug))
