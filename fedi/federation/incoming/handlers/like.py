"""Inbound ``Like``: a favourite of a note we know."""

from __future__ import annotations

from activitypub.vocab import id_of
from fedi.domain import notify_social
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import reactions
from fedi.federation.incoming.registry import Ignore, InboundContext, handles
from fedi.settings import Settings


def may_be_initiative(settings: Settings, object_id: str | None) -> bool:
    """Whether a liked id may be an initiative's ``Page``.

    Ours are all ``{base}/initiatives/<id>`` (``fedi.domain.initiatives.initiative_url``)
    and copies of other servers' keep their ids there, so any other id on our host (a
    note's ``/users/<name>/notes/...``, what most likes are of) is not one: the lookup,
    a wide join, is skipped for it.
    """
    if not object_id or not settings.is_local_id(object_id):
        return True
    return object_id.startswith(settings.url("/initiatives/"))


@handles("Like")
async def on_like(ctx: InboundContext) -> None:
    """Count the like once."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if may_be_initiative(
        ctx.state.settings, id_of(ctx.activity.get("object"))
    ) and await initiative_inbound.claim_like(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    received = await reactions.take_like(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if received is None:
        raise Ignore("Like of an unknown note")
    # Issue 12: the author hears of it (once, however often the Like is delivered).
    await notify_social.reaction_received(
        ctx.db, ctx.actor, received.reaction, note=received.note, author=received.author
    )
