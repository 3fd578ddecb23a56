"""Initiatives arriving from other servers: pages, tasks, offers, support and comments.

Every activity is applied through the same services a local person uses (the change's
actor is the remote sender, so the outgoing subscribers send nothing back), which enforce
every rule again: the tribe's initiative policy, partner rights, blocks, visibility. The
sender is never one of ours: our own activities never come through the inbox (their local
effects are applied by the services directly; the worker refuses a local actor as forged).
Then, as FEP-1b12 wants:

* when the initiative's tribe is **ours**, the tribe announces the accepted activity to its
  followers (``outgoing.initiatives.share_with_tribe``; a new ``Page`` and messages boosted);
* when we **host** the initiative (its ``Page`` id is ours) and the activity did not reach the
  tribe itself (a Mastodon reply or favourite is delivered only to the author's inbox), we
  hand it on to the tribe's server: ``Add{object: <activity>, target: <initiative>}`` from
  our instance actor. The receiver trusts the host only about its own initiative, and still
  refetches a note from its origin (``receive_add``).

Objects are matched by their ids, which every copy keeps: the ``Page``, ``Ticket``, message
and comment ids, and for a contribution the ``Offer`` id. The functions named ``claim_*``
are called first by the generic inbound handlers (Like, Undo, Update, Delete, Accept,
Reject, Join, Leave): they return True when the activity was about an initiative (applied or
refused), so the handler stops there.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.fetcher import FetchError
from activitypub.vocab import as_list, host_of, id_of, is_public
from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiative_fields,
    initiative_people,
    initiatives,
)
from fedi.domain.errors import ServiceError
from fedi.domain.initiative_access import active_partners
from fedi.domain.notes import lookup_object
from fedi.domain.remote_tribes import ensure_remote_tribe
from fedi.federation.audience import confirm_remote_member
from fedi.federation.incoming.notes import receive_post
from fedi.federation.incoming.object_receivers import register_object_receiver
from fedi.federation.incoming.tribes import addressed_ids, tribes_by_actor_ids
from fedi.federation.instance_actor import ensure_instance_actor
from fedi.federation.outgoing.initiatives import share_with_tribe
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor
from fedi.federation.remote.threads import walk_in_reply_to
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from fedi.text import plain_text, sanitize_remote_html
from models import (
    Actor,
    Comment,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    InitiativeUpdate,
    Lane,
    Task,
    Tribe,
)

log = logging.getLogger(__name__)

PHASES = ("idea", "plan", "execute", "grow")
VISIBILITIES = ("public", "members", "private")


# ------------------------------------------------------------------ finding things


async def initiative_by_ap_id(db: AsyncSession, ap_id: str | None) -> Initiative | None:
    """The initiative (ours or a copy) whose ``Page`` id is ``ap_id``."""
    if not ap_id:
        return None
    return await db.scalar(select(Initiative).where(Initiative.ap_id == ap_id))


async def task_by_ap_id(db: AsyncSession, ap_id: str | None) -> Task | None:
    """The task whose ``Ticket`` id is ``ap_id``."""
    if not ap_id:
        return None
    return await db.scalar(select(Task).where(Task.ap_id == ap_id))


def is_initiative_page(doc: dict[str, Any]) -> bool:
    """Whether a ``Page`` is one of our initiatives (it carries our ``phase`` term); Lemmy
    posts are Pages too and stay notes."""
    return doc.get("type") == "Page" and doc.get("phase") in PHASES


def _addressed(*docs: dict[str, Any]) -> set[str]:

    return addressed_ids(*docs)


def _reached_tribe(initiative: Initiative, activity: dict[str, Any]) -> bool:
    inner = activity.get("object")
    docs = [activity, inner] if isinstance(inner, dict) else [activity]
    return initiative.tribe.actor.ap_id in _addressed(*docs)


async def after_apply(
    db: AsyncSession,
    state: AppState,
    initiative: Initiative,
    activity: dict[str, Any],
    *,
    boost: bool = False,
    previous_visibility: str | None = None,
) -> None:
    """Announce through our tribe, or hand on to the tribe's server when we host it.

    ``previous_visibility``: the visibility before the applied edit changed it (see
    ``outgoing.initiatives.share_with_tribe``).
    """
    if initiative.tribe.actor.local:
        await share_with_tribe(
            db, state.settings, initiative, activity, boost=boost,
            previous_visibility=previous_visibility,
        )
    elif initiative.local and not _reached_tribe(initiative, activity):
        await relay_to_tribe(db, state, initiative, activity)


async def relay_to_tribe(
    db: AsyncSession, state: AppState, initiative: Initiative, activity: dict[str, Any]
) -> None:
    """Send ``Add{activity, target: initiative}`` from our instance actor to the tribe and
    the remote partners (the servers keeping copies of the initiative we host). A private
    initiative's goes to the partners only."""

    settings = state.settings
    partners = [p.ap_id for p in await active_partners(db, initiative) if not p.local]
    tribe = [initiative.tribe.actor.ap_id] if initiative.visibility != "private" else []
    if not tribe and not partners:
        return
    me = await ensure_instance_actor(db, settings)
    inner = {k: v for k, v in activity.items() if k != "@context"}
    add = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": new_activity_id(settings, "add"),
        "type": "Add",
        "actor": me.ap_id,
        "object": inner,
        "target": initiative.ap_id,
        "to": tribe,
        "cc": partners,
    }
    await publish(db, settings, me, add, to_local=False)


# Which part of an initiative (0 Page, 1 message, 2 task, 3 comment) has an id, in the order
# find_thread has always looked; built once.
_THREAD_PART = union_all(
    select(literal(0).label("kind"), Initiative.id).where(Initiative.ap_id == bindparam("ap_id")),
    select(literal(1), InitiativeUpdate.id).where(InitiativeUpdate.ap_id == bindparam("ap_id")),
    select(literal(2), Task.id).where(Task.ap_id == bindparam("ap_id")),
    select(literal(3), Comment.id).where(Comment.ap_id == bindparam("ap_id")),
).order_by("kind").limit(1)


async def find_thread(
    db: AsyncSession, state: AppState, in_reply_to: str | None
) -> tuple[Initiative, int | None, int | None, Comment | None] | None:
    """(initiative, update id, task id, parent comment) that a reply to ``in_reply_to``
    belongs to, walking ``inReplyTo`` up (Mastodon answers replies we may not have)."""

    Thread = tuple[Initiative, int | None, int | None, Comment | None]

    # Boxed: a box holding None is "found, but its initiative is gone" (stop walking).
    async def thread_at(current: str) -> tuple[Thread | None] | None:
        # One statement tells which of the four tables (if any) has ``current``: most
        # replies answer a post that is in none of them.
        hit = (await db.execute(_THREAD_PART, {"ap_id": current})).first()
        if hit is None:
            return None
        kind, part_id = hit
        if kind == 0:
            found = await db.get(Initiative, part_id)
            return ((found, None, None, None),) if found is not None else None
        if kind == 1:
            entry = await db.get(InitiativeUpdate, part_id)
            if entry is None:
                return None
            initiative = await db.get(Initiative, entry.initiative_id)
            return ((initiative, entry.id, None, None) if initiative else None,)
        if kind == 2:
            task = await db.get(Task, part_id)
            if task is None:
                return None
            initiative = await db.get(Initiative, task.initiative_id)
            return ((initiative, None, task.id, None) if initiative else None,)
        comment = await db.get(Comment, part_id)
        if comment is None:
            return None
        initiative = await db.get(Initiative, comment.initiative_id)
        return ((initiative, None, None, comment) if initiative else None,)

    async def parent_of(current: str) -> str | None:
        # A parent we store says what it answers (the tribe walk reads it the same way);
        # only one we do not store is read from its origin (the item's fetch memo).
        stored = await lookup_object(db, current)
        if stored is not None:
            return stored.in_reply_to
        try:
            parent = await get_federation(state).fetcher.fetch_json(current)
        except FetchError:
            return None
        return id_of(parent.get("inReplyTo"))

    box = await walk_in_reply_to(
        in_reply_to, thread_at, parent_of,
        is_local=lambda ident: host_of(ident) == state.settings.host,
    )
    return box[0] if box is not None else None


def _text_of(doc: dict[str, Any]) -> tuple[str, str | None]:
    """(markdown source, sanitised HTML to show instead or None) of a remote note."""
    source = doc.get("source")
    if (
        isinstance(source, dict) and source.get("mediaType") == "text/markdown"
        and isinstance(source.get("content"), str) and source["content"].strip()
    ):
        return source["content"], None
    html = doc.get("content")
    if not isinstance(html, str) or not html:
        content_map = doc.get("contentMap")
        values = [v for v in content_map.values() if isinstance(v, str)] if isinstance(
            content_map, dict
        ) else []
        html = values[0] if values else ""
    return plain_text(html)[: conversation.MAX_TEXT], sanitize_remote_html(html)


def _author_is(doc: dict[str, Any], sender: Actor) -> bool:
    authors = [id_of(a) for a in as_list(doc.get("attributedTo"))]
    return bool(authors) and authors[0] == sender.ap_id


async def _admit(db: AsyncSession, state: AppState, initiative: Initiative, sender: Actor) -> None:
    """Before a remote person's activity on a members-only initiative of a tribe elsewhere
    is applied, learn from the tribe's server whether they are a member (the services then
    decide as usual; see ``initiative_audience.confirm_remote_member``)."""

    await confirm_remote_member(db, state, initiative, sender)


# ------------------------------------------------------------------ the Page


def _date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def page_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Initiative fields from a ``Page`` (cut to our limits; checked again by the service)."""
    fields: dict[str, Any] = {}
    name = doc.get("name")
    fields["name"] = plain_text(name if isinstance(name, str) else "")[: initiatives.MAX_NAME]
    summary = doc.get("summary")
    fields["summary"] = plain_text(summary if isinstance(summary, str) else "")[
        : initiatives.MAX_SUMMARY
    ]
    text, _html = _text_of(doc)
    fields["description"] = text[: initiatives.MAX_DESCRIPTION]
    for key, term in (("expected_result", "expectedResult"), ("motivation", "motivation")):
        value = doc.get(term)
        if isinstance(value, str):
            fields[key] = value[: initiatives.MAX_TEXT]
    if doc.get("phase") in PHASES:
        fields["phase"] = doc["phase"]
    fields["start_date"] = _date(doc.get("startTime"))
    fields["end_date"] = _date(doc.get("endTime"))
    if fields["start_date"] and fields["end_date"] and fields["end_date"] < fields["start_date"]:
        fields["end_date"] = None
    if doc.get("budgetType") in initiatives.BUDGET_TYPES:
        fields["budget_type"] = doc["budgetType"]
        budget = doc.get("budget")
        fields["budget_amount"] = budget if isinstance(budget, int) else None
    location = doc.get("location")
    if isinstance(location, dict) and isinstance(location.get("name"), str):
        fields["location"] = location["name"][: initiatives.MAX_LOCATION]
    tags = [
        str(tag.get("name", "")).lstrip("#") for tag in as_list(doc.get("tag"))
        if isinstance(tag, dict) and tag.get("type") == "Hashtag"
    ]
    fields["tags"] = tags[: initiative_fields.MAX_TAGS]
    visibility = doc.get("visibility")
    if visibility not in VISIBILITIES:
        visibility = "public" if is_public(doc.get("to")) or is_public(doc.get("cc")) else (
            "members"
        )
    fields["visibility"] = visibility
    return fields


async def _tribe_for(
    db: AsyncSession, activity: dict[str, Any], doc: dict[str, Any]
) -> Tribe | None:
    """The tribe a new Page is for: one of ours it is addressed to, else a remote group we
    know (its ``audience``)."""

    addressed = _addressed(activity, doc)
    local = await tribes_by_actor_ids(db, addressed)
    if local:
        return local[0]
    audience = id_of(doc.get("audience"))
    if not audience:
        return None
    group = await db.scalar(select(Actor).where(Actor.ap_id == audience))
    if group is None or group.local or group.type != "Group":
        return None
    return await ensure_remote_tribe(db, group)


@register_object_receiver("Page")
async def receive_page(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> Any:
    """``Create{Page}``: a new initiative in one of our tribes (its policy applies; the
    tribe then announces it), or in a remote tribe we know. Other Pages are notes."""
    if not is_initiative_page(doc):

        return await receive_post(db, state, sender, activity, doc)
    page_id = id_of(doc.get("id"))
    existing = await initiative_by_ap_id(db, page_id)
    if existing is not None:
        if not existing.local and _author_is(doc, sender):
            # Taken in early (see ``pull_page``): the tribe announces the Create now.
            # Announcing an activity twice does nothing, so a repeat is harmless.
            await after_apply(db, state, existing, activity, boost=True)
        return existing
    if not page_id or not _author_is(doc, sender):
        return None
    tribe = await _tribe_for(db, activity, doc)
    if tribe is None:
        log.info("Page %s is for no tribe we know", page_id)
        return None
    fields = page_fields(doc)
    try:
        initiative = await initiatives.create_initiative(
            db, state.settings, tribe, sender, ap_id=page_id, **fields
        )
    except ServiceError as exc:
        log.info("initiative %s refused in %s: %s", page_id, tribe.slug, exc.message)
        return None
    await after_apply(db, state, initiative, activity, boost=True)
    return initiative


async def pull_page(db: AsyncSession, state: AppState, page_id: str | None) -> Initiative | None:
    """The initiative ``page_id``, taken in from its origin when a task or message of it
    arrives before its ``Create{Page}`` (deliveries are not ordered).

    The Page is fetched from its own server, must be an initiative attributed to someone
    there, and goes through the same service and tribe rules as a received Page. Nothing is
    announced here: the ``Create{Page}`` is, when it arrives (``receive_page``).
    """

    existing = await initiative_by_ap_id(db, page_id)
    if existing is not None or not page_id or host_of(page_id) == state.settings.host:
        return existing
    try:
        doc = await get_federation(state).fetcher.fetch_json(page_id)
        author_id = next((id_of(a) for a in as_list(doc.get("attributedTo")) if id_of(a)), None)
        if (
            not is_initiative_page(doc) or id_of(doc.get("id")) != page_id or not author_id
            or host_of(author_id) != host_of(page_id)
        ):
            return None
        author = await get_or_fetch_actor(state, db, author_id)
    except (FetchError, ActorUnavailable):
        return None
    tribe = await _tribe_for(db, {}, doc)
    if tribe is None:
        return None
    try:
        return await initiatives.create_initiative(
            db, state.settings, tribe, author, ap_id=page_id,
            **page_fields(doc),
        )
    except ServiceError as exc:
        log.info("initiative %s not taken in: %s", page_id, exc.message)
        return None


async def _update_page(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    initiative: Initiative, doc: dict[str, Any],
) -> bool:
    fields = page_fields(doc)
    archived = doc.get("archived")
    before = initiative.visibility
    try:
        if archived is False and initiative.archived_at is not None:
            await initiatives.archive(
                db, state.settings, initiative, sender, archived=False
            )
        await initiatives.update_initiative(
            db, state.settings, initiative, sender, **fields
        )
        if archived is True and initiative.archived_at is None:
            await initiatives.archive(db, state.settings, initiative, sender)
    except ServiceError as exc:
        log.info("Update of %s by %s refused: %s", initiative.ap_id, sender.ap_id, exc.message)
        return True
    changed = before != initiative.visibility
    await after_apply(
        db, state, initiative, activity, boost=changed and initiative.visibility == "public",
        previous_visibility=before if changed else None,
    )
    return True


# ------------------------------------------------------------------ tasks


async def _lane_named(db: AsyncSession, initiative: Initiative, name: Any) -> Lane | None:
    if not isinstance(name, str) or not name.strip():
        return None
    lanes = await initiative_board.lanes_of(db, initiative)
    for lane in lanes:
        if lane.name == name.strip():
            return lane
    if len(lanes) >= initiative_board.MAX_LANES:
        return None
    return await initiative_board.add_lane(
        db, initiative, name.strip()[: initiative_board.MAX_LANE_NAME]
    )


def _task_fields(doc: dict[str, Any]) -> dict[str, Any]:
    text, _html = _text_of(doc)
    name = doc.get("name")
    due = _date(doc.get("endTime"))
    return {
        "name": plain_text(name if isinstance(name, str) else "")[
            : initiative_board.MAX_TASK_NAME
        ],
        "description": text[: initiative_board.MAX_TASK_DESCRIPTION],
        "due_date": due.isoformat() if due else "",
        "tags": [str(t) for t in as_list(doc.get("talents")) if isinstance(t, str)][:10],
    }


@register_object_receiver("Ticket")
async def receive_ticket(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> Any:
    """``Create{Ticket}``: a partner added a task to an initiative we keep."""
    ticket_id = id_of(doc.get("id"))
    existing = await task_by_ap_id(db, ticket_id)
    if existing is not None:
        return existing
    if not ticket_id:
        return None
    initiative = await pull_page(db, state, id_of(doc.get("context")))
    if initiative is None:
        return None
    lane = await _lane_named(db, initiative, doc.get("lane"))
    try:
        task = await initiative_board.add_task(
            db, state.settings, initiative, sender, ap_id=ticket_id,
            lane_id=lane.id if lane else None, **_task_fields(doc),
        )
        if doc.get("isResolved") is True:
            await initiative_board.complete_task(
                db, state.settings, initiative, sender, task.id
            )
    except ServiceError as exc:
        log.info("task %s refused: %s", ticket_id, exc.message)
        return None
    await after_apply(db, state, initiative, activity)
    return task


async def _update_task(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    task: Task, doc: dict[str, Any],
) -> bool:
    initiative = await db.get(Initiative, task.initiative_id)
    if initiative is None:
        return False
    settings = state.settings
    try:
        await initiative_board.edit_task(
            db, settings, initiative, sender, task.id, **_task_fields(doc)
        )
        lane = await _lane_named(db, initiative, doc.get("lane"))
        position = doc.get("position")
        if lane is not None and (lane.id != task.lane_id or (
            isinstance(position, int) and position != task.position
        )):
            await initiative_board.move_task(
                db, settings, initiative, sender, task.id, lane_id=lane.id,
                position=position if isinstance(position, int) else None,
            )
        resolved = doc.get("isResolved")
        if resolved is True and task.completed_at is None:
            await initiative_board.complete_task(
                db, settings, initiative, sender, task.id
            )
        elif resolved is False and task.completed_at is not None:
            await initiative_board.reopen_task(
                db, settings, initiative, sender, task.id
            )
    except ServiceError as exc:
        log.info("Update of task %s by %s refused: %s", task.ap_id, sender.ap_id, exc.message)
        return True
    await after_apply(db, state, initiative, activity)
    return True


# ------------------------------------------------------------------ messages and comments


@register_object_receiver("Note")
async def receive_note(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> Any:
    """``Create{Note}`` whose ``inReplyTo`` chain reaches an initiative: a message or a
    comment in the right thread. Any other note goes to the notes service."""
    context_id = id_of(doc.get("context"))
    if context_id and context_id == id_of(doc.get("inReplyTo")):
        # A message answers its initiative (its context) directly; it may come first.
        await pull_page(db, state, context_id)
    thread = await find_thread(db, state, id_of(doc.get("inReplyTo")))
    if thread is None:

        return await receive_post(db, state, sender, activity, doc)
    note_id = id_of(doc.get("id"))
    for model in (Comment, InitiativeUpdate):
        found = await db.scalar(select(model).where(model.ap_id == note_id))
        if found is not None:
            return found
    if not note_id or not _author_is(doc, sender):
        return None
    if host_of(note_id) != host_of(sender.ap_id):
        return None
    initiative, update_id, task_id, parent = thread
    await _admit(db, state, initiative, sender)
    text, html = _text_of(doc)
    settings = state.settings
    stored: Comment | InitiativeUpdate
    boost = False
    try:
        if (
            doc.get("isUpdate") is True and id_of(doc.get("inReplyTo")) == initiative.ap_id
        ):
            stored = await conversation.post_message(
                db, settings, initiative, sender, text, ap_id=note_id
            )
            boost = True
        else:
            stored = await conversation.add_comment(
                db, settings, initiative, sender, text, update_id=update_id, task_id=task_id,
                parent_id=parent.id if parent else None, ap_id=note_id,
                in_reply_to_ap_id=id_of(doc.get("inReplyTo")),
            )
    except ServiceError as exc:
        log.info("reply %s refused: %s", note_id, exc.message)
        return None
    if html is not None:
        stored.content_html = html
        await db.flush()
    await after_apply(db, state, initiative, activity, boost=boost)
    return stored


@register_object_receiver("Rating")
async def receive_rating(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> Any:
    """``Create{Rating}``: a partner rated a contribution (0-100 with feedback)."""
    contribution = await db.scalar(
        select(Contribution).where(Contribution.ap_id == id_of(doc.get("object")))
    )
    if contribution is None:
        return None
    initiative = await db.get(Initiative, contribution.initiative_id)
    if initiative is None:
        return None
    feedback = doc.get("content")
    try:
        rating = await contributions.rate(
            db, state.settings, initiative, sender, contribution.id, score=doc.get("rating"),
            feedback=feedback if isinstance(feedback, str) else "",
        )
    except ServiceError as exc:
        log.info("rating refused: %s", exc.message)
        return None
    await after_apply(db, state, initiative, activity)
    return rating


# ------------------------------------------------------------------ offers


async def receive_offer(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Contribution | None:
    """``Offer{object: Contribution, target: task}``: someone offers to help with a task.

    Refused (None) when the task is unknown, the offer is not the sender's, or the service
    says no (blocked in the tribe, cannot see the initiative, task done...).
    """
    obj = activity.get("object")
    offer_id = id_of(activity.get("id"))
    if not isinstance(obj, dict) or not offer_id:
        return None
    object_id = id_of(obj.get("id"))
    existing = await db.scalar(
        select(Contribution).where(
            (Contribution.offer_ap_id == offer_id) | (Contribution.ap_id == object_id)
        )
    )
    if existing is not None:
        return existing
    if not object_id or host_of(object_id) != host_of(sender.ap_id):
        return None
    task = await task_by_ap_id(db, id_of(activity.get("target")) or id_of(obj.get("target")))
    if task is None:
        return None
    initiative = await db.get(Initiative, task.initiative_id)
    if initiative is None:
        return None
    await _admit(db, state, initiative, sender)
    hours = obj.get("hours")
    resources = obj.get("resources")
    motivation = obj.get("motivation")
    try:
        contribution = await contributions.offer(
            db, state.settings, initiative, sender, task.id,
            hours=hours if isinstance(hours, int) else None,
            resources=resources[:1000] if isinstance(resources, str) else "",
            motivation=motivation[:1000] if isinstance(motivation, str) else "",
            ap_id=object_id, offer_ap_id=offer_id,
        )
    except ServiceError as exc:
        log.info("Offer %s by %s refused: %s", offer_id, sender.ap_id, exc.message)
        return None
    await after_apply(db, state, initiative, activity)
    return contribution


async def _contribution_of(db: AsyncSession, reference: Any) -> Contribution | None:
    ref = id_of(reference)
    if not ref:
        return None
    return await db.scalar(
        select(Contribution).where(
            (Contribution.offer_ap_id == ref) | (Contribution.ap_id == ref)
        )
    )


async def claim_accept(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Accept``/``Reject`` of an ``Offer`` (a contribution) or a ``Join`` (partnership).

    A non-partner's answer is refused by the service and ignored here.
    """
    accept = activity.get("type") == "Accept"
    inner = activity.get("object")
    contribution = await _contribution_of(db, inner)
    if contribution is not None:
        initiative = await db.get(Initiative, contribution.initiative_id)
        if initiative is None:
            return True
        if contribution.state != "proposed":
            return True
        try:
            await contributions.decide(
                db, state.settings, initiative, sender, contribution.id, accept=accept,
            )
        except ServiceError as exc:
            log.info("decision on %s by %s refused: %s", contribution.ap_id, sender.ap_id,
                     exc.message)
            return True
        await after_apply(db, state, initiative, activity)
        return True
    ref = id_of(inner)
    row = await db.scalar(
        select(InitiativePartner).where(InitiativePartner.activity_ap_id == ref)
    ) if ref else None
    if row is None:
        return False
    initiative = await db.get(Initiative, row.initiative_id)
    if initiative is None:
        return True
    try:
        if accept:
            await initiative_people.accept_partner(
                db, state.settings, initiative, sender, row.actor_id
            )
        else:
            await initiative_people.decline_partner(
                db, state.settings, initiative, sender, row.actor_id
            )
    except ServiceError as exc:
        log.info("partner decision by %s refused: %s", sender.ap_id, exc.message)
        return True
    await after_apply(db, state, initiative, activity)
    return True


async def claim_join(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Join{Page}``: a request to become a partner of an initiative we keep."""
    initiative = await initiative_by_ap_id(db, id_of(activity.get("object")))
    if initiative is None:
        return False
    await _admit(db, state, initiative, sender)
    message = activity.get("content")
    try:
        await initiative_people.request_partnership(
            db, state.settings, initiative, sender,
            plain_text(message) if isinstance(message, str) else "",
            activity_ap_id=id_of(activity.get("id")),
        )
    except ServiceError as exc:
        log.info("Join of %s by %s refused: %s", initiative.ap_id, sender.ap_id, exc.message)
        return True
    await after_apply(db, state, initiative, activity)
    return True


async def claim_leave(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Leave{Page}``: a partner steps back, or withdraws their request, through the same
    service as the web button (the last partner cannot leave; then it is ignored). When
    we host the initiative or its tribe, the change is handed on like any other."""
    initiative = await initiative_by_ap_id(db, id_of(activity.get("object")))
    if initiative is None:
        return False
    try:
        await initiative_people.leave_partnership(
            db, state.settings, initiative, sender
        )
    except ServiceError as exc:
        log.info("Leave of %s by %s ignored: %s", initiative.ap_id, sender.ap_id, exc.message)
        return True
    await after_apply(db, state, initiative, activity)
    return True


# ------------------------------------------------------------------ support


async def claim_like(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Like{Page}`` (a Mastodon favourite): ``sender`` supports the initiative."""
    initiative = await initiative_by_ap_id(db, id_of(activity.get("object")))
    if initiative is None:
        return False
    await _admit(db, state, initiative, sender)
    try:
        row = await initiative_people.support(
            db, state.settings, initiative, sender, activity_ap_id=id_of(activity.get("id")),
        )
    except ServiceError as exc:
        log.info("Like of %s by %s refused: %s", initiative.ap_id, sender.ap_id, exc.message)
        return True
    if row.activity_ap_id is None:
        row.activity_ap_id = id_of(activity.get("id"))
        await db.flush()
    await after_apply(db, state, initiative, activity)
    return True


async def claim_undo(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Undo{Like}`` of an initiative (stop supporting) or ``Undo{Offer}`` (withdraw)."""
    inner = activity.get("object")
    inner_id = id_of(inner)
    kind = inner.get("type") if isinstance(inner, dict) else None
    contribution = await _contribution_of(db, inner) if kind in (None, "Offer") else None
    if contribution is not None:
        initiative = await db.get(Initiative, contribution.initiative_id)
        if initiative is None:
            return True
        try:
            await contributions.withdraw(
                db, state.settings, initiative, sender, contribution.id
            )
        except ServiceError as exc:
            log.info("Undo of offer %s refused: %s", inner_id, exc.message)
            return True
        await after_apply(db, state, initiative, activity)
        return True
    initiative = None
    if isinstance(inner, dict) and inner.get("type") == "Like":
        initiative = await initiative_by_ap_id(db, id_of(inner.get("object")))
    if initiative is None and inner_id:
        row = await db.scalar(
            select(InitiativeSupporter).where(InitiativeSupporter.activity_ap_id == inner_id)
        )
        initiative = await db.get(Initiative, row.initiative_id) if row else None
    if initiative is None:
        return False
    await initiative_people.unsupport(db, state.settings, initiative, sender)
    await after_apply(db, state, initiative, activity)
    return True


# ------------------------------------------------------------------ edits and deletions


async def claim_update(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Update`` of an initiative ``Page``, a ``Ticket`` or a comment ``Note`` we keep.

    The new version is taken from the activity when it comes from the object's own host,
    or when the object is ours (a partner on another server proposes the new version; we
    are its origin, so there is nothing to fetch, and the services check their rights),
    else fetched from its host.
    """
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id:
        return False
    initiative = await initiative_by_ap_id(db, object_id)
    task = None if initiative is not None else await task_by_ap_id(db, object_id)
    comment = None
    if initiative is None and task is None:
        comment = await db.scalar(select(Comment).where(Comment.ap_id == object_id))
        if comment is None:
            return False
    origin = host_of(object_id)
    trusted = origin in (host_of(sender.ap_id), state.settings.host)
    doc = obj if isinstance(obj, dict) and trusted else None
    if doc is None:

        try:
            doc = await get_federation(state).fetcher.fetch_json(object_id)
        except FetchError:
            return True
    if initiative is not None:
        return await _update_page(db, state, sender, activity, initiative, doc)
    if task is not None:
        return await _update_task(db, state, sender, activity, task, doc)
    assert comment is not None
    owner = await db.get(Initiative, comment.initiative_id)
    if owner is None or comment.author_id != sender.id:
        return True
    text, html = _text_of(doc)
    try:
        await conversation.edit_comment(
            db, state.settings, owner, sender, comment.id, text
        )
    except ServiceError:
        return True
    if html is not None:
        comment.content_html = html
        await db.flush()
    await after_apply(db, state, owner, activity)
    return True


async def claim_delete(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Delete`` of an initiative, a task or a comment we keep (by who may delete it)."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        return False
    settings = state.settings
    initiative = await initiative_by_ap_id(db, object_id)
    if initiative is not None:
        if initiative.deleted_at is not None:
            return True
        try:
            await initiatives.delete_initiative(db, settings, initiative, sender)
        except ServiceError as exc:
            log.info("Delete of %s refused: %s", object_id, exc.message)
            return True
        await after_apply(db, state, initiative, activity)
        return True
    task = await task_by_ap_id(db, object_id)
    if task is not None:
        owner = await db.get(Initiative, task.initiative_id)
        if owner is None:
            return True
        try:
            await initiative_board.delete_task(
                db, settings, owner, sender, task.id
            )
        except ServiceError as exc:
            log.info("Delete of task %s refused: %s", object_id, exc.message)
            return True
        await after_apply(db, state, owner, activity)
        return True
    comment = await db.scalar(select(Comment).where(Comment.ap_id == object_id))
    if comment is None:
        return False
    owner = await db.get(Initiative, comment.initiative_id)
    if owner is None:
        return True
    try:
        await conversation.delete_comment(db, settings, owner, sender, comment.id)
    except ServiceError:
        return True
    await after_apply(db, state, owner, activity)
    return True


# ------------------------------------------------------------------ relayed by the host


async def receive_add(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Add{object: <activity>, target: <initiative>}`` from the server hosting the
    initiative: a reply, favourite or its undoing that reached only the host.

    Trusted only from the initiative's own host, only for a copy we keep, and a created
    note is still fetched from its origin rather than taken from the embedded copy.
    """

    initiative = await initiative_by_ap_id(db, id_of(activity.get("target")))
    inner = activity.get("object")
    if initiative is None or initiative.local or not isinstance(inner, dict):
        return False
    if host_of(sender.ap_id) != host_of(initiative.ap_id or ""):
        log.info("Add about %s from %s ignored: not its host", initiative.ap_id, sender.ap_id)
        return False
    actor_id = id_of(inner.get("actor"))
    if not actor_id or host_of(actor_id) == state.settings.host:
        return False
    try:
        actor = await get_or_fetch_actor(state, db, actor_id)
    except ActorUnavailable:
        return False
    kind = inner.get("type")
    if kind == "Create":
        note_id = id_of(inner.get("object"))
        if not note_id or host_of(note_id) != host_of(actor_id):
            return False
        try:
            doc = await get_federation(state).fetcher.fetch_json(note_id)
        except FetchError:
            return False
        if doc.get("type") != "Note":
            return False
        return await receive_note(db, state, actor, inner, doc) is not None
    if kind == "Like":
        return await claim_like(db, state, actor, inner)
    if kind == "Undo":
        return await claim_undo(db, state, actor, inner)
    if kind == "Delete":
        return await claim_delete(db, state, actor, inner)
    if kind == "Update":
        inner = {**inner, "object": id_of(inner.get("object"))}  # refetched from origin
        return await claim_update(db, state, actor, inner)
    return False


async def receive_announced_create(
    db: AsyncSession, state: AppState, group: Actor, inner: dict[str, Any]
) -> Any:
    """``Announce{Create{Page}}`` from a remote tribe we follow: keep a copy of the
    initiative in that tribe so local people can see it and take part.

    The Page is fetched from its origin (never taken from the group's embedded copy).
    Returns the initiative, or None when the announced object is not an initiative.
    Meant to be called by ``group_announces.receive_group_announce`` before its note path.
    """

    object_id = id_of(inner.get("object"))
    if group.type != "Group" or not object_id:
        return None
    existing = await initiative_by_ap_id(db, object_id)
    if existing is not None:
        return existing
    embedded = inner.get("object")
    if isinstance(embedded, dict) and embedded.get("type") in ("Ticket", "Note"):
        return await _announced_part(db, state, group, inner, embedded)
    if isinstance(embedded, dict) and not is_initiative_page(embedded):
        return None
    try:
        doc = await get_federation(state).fetcher.fetch_json(object_id)
        author_id = next((id_of(a) for a in as_list(doc.get("attributedTo")) if id_of(a)), None)
        if not is_initiative_page(doc) or not author_id or host_of(author_id) != host_of(
            object_id
        ):
            return None
        author = await get_or_fetch_actor(state, db, author_id)
    except (FetchError, ActorUnavailable):
        return None
    if id_of(doc.get("audience")) != group.ap_id:
        return None
    tribe = await ensure_remote_tribe(db, group)
    try:
        return await initiatives.create_initiative(
            db, state.settings, tribe, author, ap_id=object_id,
            **page_fields(doc),
        )
    except ServiceError as exc:
        log.info("announced initiative %s not kept: %s", object_id, exc.message)
        return None


async def _announced_part(
    db: AsyncSession, state: AppState, group: Actor, inner: dict[str, Any],
    embedded: dict[str, Any],
) -> Any:
    """A task or a message/comment of an initiative we keep, announced by its tribe: taken
    in through the ordinary receivers once fetched from its origin (None otherwise)."""

    context_id = id_of(embedded.get("context"))
    if context_id and await initiative_by_ap_id(db, context_id) is None:
        # Deliveries are not ordered: the announce of a task or message may arrive before
        # the one of its Page. Take the Page in first (confirmed at its origin as usual).
        await receive_announced_create(db, state, group, {"object": context_id})
    if embedded.get("type") == "Ticket":
        if await initiative_by_ap_id(db, id_of(embedded.get("context"))) is None:
            return None
    elif await find_thread(db, state, id_of(embedded.get("inReplyTo"))) is None:
        return None
    actor_id = id_of(inner.get("actor"))
    object_id = id_of(embedded.get("id"))
    if not actor_id or not object_id or host_of(actor_id) != host_of(object_id):
        return None
    if host_of(object_id) == state.settings.host:
        return None
    try:
        actor = await get_or_fetch_actor(state, db, actor_id)
        doc = await get_federation(state).fetcher.fetch_json(object_id)
    except (FetchError, ActorUnavailable):
        return None
    if doc.get("type") != embedded.get("type"):
        return None
    if doc["type"] == "Ticket":
        return await receive_ticket(db, state, actor, inner, doc)
    if not _author_is(doc, actor):
        return None
    return await receive_note(db, state, actor, inner, doc)


async def _initiative_of_object(db: AsyncSession, object_id: str) -> Initiative | None:
    """The initiative that ``object_id`` (its Page, a task, a message or a comment) is of."""
    found = await initiative_by_ap_id(db, object_id)
    if found is not None:
        return found
    part: Any = await task_by_ap_id(db, object_id)
    for model in (Comment, InitiativeUpdate):
        if part is None:
            part = await db.scalar(select(model).where(model.ap_id == object_id))
    return await db.get(Initiative, part.initiative_id) if part is not None else None


async def receive_announced_change(
    db: AsyncSession, state: AppState, group: Actor, inner: dict[str, Any]
) -> bool:
    """``Announce{Update|Delete}`` from a remote tribe we follow, about an initiative of
    that tribe we keep a copy of (its Page, a task or a comment): the only way a server
    that is no partner hears of edits and deletions.

    The group could forge the wrapped activity, so an edited object is refetched from its
    origin, and a deletion counts only when the origin answers 404/410. The change is then
    applied as the wrapped activity's actor, whose rights the services check as usual.
    Returns False when the activity is not about an initiative we keep (notes path).
    """

    kind = inner.get("type")
    object_id = id_of(inner.get("object"))
    actor_id = id_of(inner.get("actor"))
    if group.type != "Group" or kind not in ("Update", "Delete"):
        return False
    if not object_id or not actor_id or host_of(object_id) == state.settings.host:
        return False
    initiative = await _initiative_of_object(db, object_id)
    if initiative is None or initiative.local:
        return False
    if initiative.tribe.actor_id != group.id or host_of(actor_id) == state.settings.host:
        return True  # a group speaks only for its own initiatives; ours we know already
    try:
        actor = await get_or_fetch_actor(state, db, actor_id)
    except ActorUnavailable:
        return True
    if kind == "Update":
        # A bare id: claim_update fetches the new version from the object's origin.
        await claim_update(db, state, actor, {**inner, "object": object_id})
        return True
    try:
        await get_federation(state).fetcher.fetch_json(object_id)
    except FetchError as exc:
        if exc.gone:
            await claim_delete(db, state, actor, {**inner, "object": object_id})
        return True
    log.info("announced Delete of %s ignored: its origin still serves it", object_id)
    return True
