"""What a tribe's ``Group`` actor says when the tribe changes (subscribers of the tribe events).

* a membership: ``Accept`` (joined, approved) or ``Reject`` (rejected, removed) of the
  Follow or Join that asked, when one came in over ActivityPub; ``Invite`` to a remote
  person invited;
* a role across the member/moderator line: ``Add``/``Remove`` on the moderators collection,
  announced to the followers (the way Lemmy communities send mod changes);
* the tribe's fields: ``Update{Group}`` to its followers;
* a new tribe post (a member's, or an approved held one): ``Announce`` to the followers.

Every activity here is sent by the tribe's Group, which is ours; the events come from local
people and from remote ones whose Follow/Join/Leave was applied (they get their answer).
The domain already kept the member's ``Follow`` of the Group in step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_add, build_invite, build_remove, build_update
from activitypub.vocab import AS_CONTEXT, PUBLIC
from fedi.domain.events import subscribes
from fedi.domain.events_tribes import (
    JoinApproved,
    JoinRejected,
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    MembershipEvent,
    RoleChanged,
    TribePostAccepted,
    TribeUpdated,
)
from fedi.domain.local_actors import followers_url_of
from fedi.federation.documents.groups import group_document
from fedi.federation.incoming.tribes import answer, original_activity
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.outgoing.tribe_distribution import distribute
from fedi.settings import Settings
from models import Actor, OutboxActivity, Tribe


async def _answer_request(
    db: AsyncSession, settings: Settings, tribe: Tribe, person: Actor,
    activity_id: str | None, kind: str,
) -> None:
    """Accept or Reject the Follow/Join ``activity_id`` that ``person`` sent, if any."""

    original = await original_activity(db, activity_id)
    if original is None or original.get("type") not in ("Follow", "Join"):
        return  # joined on the web, by a link, or by accepting our Invite: nothing to answer
    await answer(db, settings, tribe, person, kind, original)


@subscribes(MemberJoined, JoinApproved)
async def on_member_admitted(
    db: AsyncSession, settings: Settings, event: MembershipEvent
) -> None:
    """Answer the Follow or Join that asked with ``Accept``."""
    await _answer_request(
        db, settings, event.tribe, event.person, event.member.activity_ap_id, "Accept"
    )


@subscribes(JoinRejected, MemberRemoved)
async def on_member_refused(
    db: AsyncSession, settings: Settings, event: MembershipEvent
) -> None:
    """Answer the Follow or Join with ``Reject`` (how Mastodon removes a follower, too)."""
    await _answer_request(
        db, settings, event.tribe, event.person, event.member.activity_ap_id, "Reject"
    )


@subscribes(MemberInvited)
async def on_member_invited(db: AsyncSession, settings: Settings, event: MemberInvited) -> None:
    """Send ``Invite{object: tribe, target: person}`` to a remote person (Mobilizon's shape)."""
    person, member = event.person, event.member
    if person.local or not member.activity_ap_id:
        return
    group = event.tribe.actor
    invite = build_invite(member.activity_ap_id, group.ap_id, group.ap_id, person.ap_id)
    await publish(db, settings, group, invite)


@subscribes(TribeUpdated)
async def on_tribe_updated(db: AsyncSession, settings: Settings, event: TribeUpdated) -> None:
    """Send ``Update{Group}`` to the tribe's followers."""

    tribe = event.tribe
    group = tribe.actor
    document: dict[str, Any] = group_document(settings, tribe)
    document.pop("@context", None)
    update = build_update(
        new_activity_id(settings, "update"), group.ap_id, document, [PUBLIC],
        [followers_url_of(group)],
    )
    update["@context"] = AS_CONTEXT
    await publish(db, settings, group, update)


@subscribes(RoleChanged)
async def on_role_changed(db: AsyncSession, settings: Settings, event: RoleChanged) -> None:
    """``Add``/``Remove`` on the moderators collection, announced.

    Only a change across the member/moderator line changes the collection (admins and
    the core team are both in it, as Lemmy's moderators are).
    """

    was_mod, is_mod = event.old_role != "member", event.new_role != "member"
    if was_mod == is_mod:
        return
    tribe = event.tribe
    group = tribe.actor
    build = build_add if is_mod else build_remove
    activity = build(
        new_activity_id(settings, "add" if is_mod else "remove"), group.ap_id,
        event.person.ap_id, f"{group.ap_id}/moderators", to=[PUBLIC], audience=group.ap_id,
    )
    # Stored (and fetchable by id) without recipients of its own; the followers get it
    # wrapped in the tribe's Announce, the way Lemmy communities send mod changes.
    await publish(db, settings, group, activity)
    await distribute(db, settings, tribe, activity, boost=False)


@subscribes(TribePostAccepted)
async def on_post_accepted(
    db: AsyncSession, settings: Settings, event: TribePostAccepted
) -> None:
    """Announce a new tribe post to the tribe's followers (a top-level post boosted too).

    A note written here is referenced by its ``Create``'s id: the activity as we sent it is
    embedded, so every server reads the same document.
    """

    activity = event.activity
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and settings.is_local_id(activity_id):
        sent = await db.scalar(
            select(OutboxActivity.payload).where(OutboxActivity.ap_id == activity_id)
        )
        if sent is not None:
            activity = sent
    # The author is loaded (the boost names them): not looked up again.
    await distribute(
        db, settings, event.tribe, activity, boost=not event.post.is_reply, known=[event.actor]
    )
