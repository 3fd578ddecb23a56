"""Client-to-server initiatives: the outbox forms of every initiative action.

Each form is the activity the federation already sends for the action (see the Initiatives
section of FEDERATION.md and ``fedi.federation.outgoing.initiatives``), posted by the
person to their own outbox and carried out by the same domain service (and so the same
permission checks) as the button on the web page. Objects are named by their ids, which
every copy keeps: a person here may act on an initiative hosted elsewhere as long as this
server holds its copy (the tribe announced it), exactly like on its page here.

=========================================  =================================================
posted                                     service
=========================================  =================================================
``Create{Page}`` (``audience``/``to`` the  ``initiatives.create_initiative`` (the tribe's
tribe)                                     policy: ``tribes.may_start_initiative``)
``Update{Page}`` (fields present change;   ``initiatives.update_initiative`` /
``archived`` true/false archives)          ``initiatives.archive``
``Delete`` of the Page id                  ``initiatives.delete_initiative``
``Create{Lane}`` (``context``, ``name``)   ``initiative_board.create_lane``
``Update{Lane}`` (``formerName``, ``name``) ``initiative_board.rename_lane``
``Delete{Lane}`` (``context``, ``name``)   ``initiative_board.delete_lane``
``Create{Ticket}`` (``context``, ``lane``)  ``initiative_board.add_task`` (a lane named that
                                           does not exist yet is made first)
``Update{Ticket}``                         ``edit_task`` / ``move_task`` (``lane``,
                                           ``position``) / ``complete_task`` /
                                           ``reopen_task`` (``isResolved``)
``Delete`` of a Ticket id                  ``initiative_board.delete_task``
``Offer{Contribution}`` (``target`` task)  ``contributions.offer``
``Accept``/``Reject`` of the Offer          ``contributions.decide``
``Undo`` of one's Offer                    ``contributions.withdraw``
``Create{Rating}`` (``object`` the         ``contributions.rate``
contribution, ``rating`` 0-100)
``Like`` of the Page / ``Undo`` of it      ``initiative_people.support`` / ``unsupport``
``Join`` of the Page (``content`` message) ``initiative_people.request_partnership``
``Accept``/``Reject`` of that Join          ``accept_partner`` / ``decline_partner``
``Leave`` of the Page                      ``initiative_people.leave_partnership``
``Create{Note}`` ``inReplyTo`` the Page    ``conversation.post_message``
with ``isUpdate`` true
``Create{Note}`` ``inReplyTo`` the Page, a ``conversation.add_comment``
message, task or comment
``Update{Note}`` / ``Delete`` of a comment ``edit_comment`` / ``delete_comment``
=========================================  =================================================

Lanes have no ids on the wire (a task carries its lane's name), so a lane is named by its
initiative (``context``) and ``name``. An action that publishes nothing (a lane) gets an
activity addressed to nobody (``outbox_common.record_only``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, id_of
from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiative_people,
    initiatives,
    tribes,
)
from fedi.domain.errors import Forbidden, NotFound
from fedi.domain.remote_tribes import ensure_remote_tribe
from fedi.domain.tribe_posts import tribes_by_actor_ids
from fedi.federation.incoming.initiatives import page_fields
from fedi.http.ap import outbox_media
from fedi.http.ap.outbox_common import BadActivity, mark, named_ids, result, text_of
from fedi.state import AppState
from models import (
    Actor,
    Comment,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeUpdate,
    Lane,
    OutboxActivity,
    Task,
    Tribe,
)

__all__ = ["perform"]

# Page terms and the initiative fields they set (for a partial Update{Page}).
_PAGE_TERMS = {
    "name": ("name",),
    "summary": ("summary",),
    "content": ("description",),
    "source": ("description",),
    "expectedResult": ("expected_result",),
    "motivation": ("motivation",),
    "phase": ("phase",),
    "startTime": ("start_date",),
    "endTime": ("end_date",),
    "budgetType": ("budget_type", "budget_amount"),
    "budget": ("budget_amount",),
    "location": ("location",),
    "tag": ("tags",),
    "visibility": ("visibility",),
}


def _type_of(value: Any) -> str | None:
    if isinstance(value, dict):
        kinds = as_list(value.get("type"))
        return str(kinds[0]) if kinds else None
    return None


# ------------------------------------------------------------------ finding things


async def _initiative(db: AsyncSession, ap_id: str | None) -> Initiative | None:
    if not ap_id:
        return None
    found = await db.scalar(select(Initiative).where(Initiative.ap_id == ap_id))
    return found if found is not None and found.deleted_at is None else None


async def _task(db: AsyncSession, ap_id: str | None) -> tuple[Initiative, Task] | None:
    if not ap_id:
        return None
    task = await db.scalar(select(Task).where(Task.ap_id == ap_id))
    if task is None:
        return None
    initiative = await db.get(Initiative, task.initiative_id)
    if initiative is None or initiative.deleted_at is not None:
        return None
    return initiative, task


async def _comment(db: AsyncSession, ap_id: str | None) -> tuple[Initiative, Comment] | None:
    if not ap_id:
        return None
    comment = await db.scalar(select(Comment).where(Comment.ap_id == ap_id))
    if comment is None or comment.deleted_at is not None:
        return None
    initiative = await db.get(Initiative, comment.initiative_id)
    return (initiative, comment) if initiative is not None else None


async def _message(
    db: AsyncSession, ap_id: str | None
) -> tuple[Initiative, InitiativeUpdate] | None:
    if not ap_id:
        return None
    entry = await db.scalar(select(InitiativeUpdate).where(InitiativeUpdate.ap_id == ap_id))
    if entry is None:
        return None
    initiative = await db.get(Initiative, entry.initiative_id)
    return (initiative, entry) if initiative is not None else None


async def _contribution(
    db: AsyncSession, reference: Any
) -> tuple[Initiative, Contribution] | None:
    """The contribution an Accept/Reject/Undo names: the Offer's id, the Contribution's
    id, or an embedded Offer (whose ``object`` is the Contribution)."""
    candidates = named_ids(reference)
    if isinstance(reference, dict):
        candidates += named_ids(reference.get("object"))
    for ref in candidates:
        row = await db.scalar(
            select(Contribution).where(
                (Contribution.offer_ap_id == ref) | (Contribution.ap_id == ref)
            )
        )
        if row is not None:
            initiative = await db.get(Initiative, row.initiative_id)
            if initiative is not None:
                return initiative, row
    return None


async def _join_request(
    db: AsyncSession, reference: Any
) -> tuple[Initiative, InitiativePartner] | None:
    """The partnership request an Accept/Reject names: the Join's id, or an embedded
    ``Join`` (its ``actor`` and the Page as ``object``)."""
    ref = id_of(reference)
    if ref:
        row = await db.scalar(
            select(InitiativePartner).where(InitiativePartner.activity_ap_id == ref)
        )
        if row is not None:
            initiative = await db.get(Initiative, row.initiative_id)
            if initiative is not None:
                return initiative, row
    if isinstance(reference, dict) and reference.get("type") == "Join":
        initiative = await _initiative(db, id_of(reference.get("object")))
        candidate = await db.scalar(
            select(Actor).where(Actor.ap_id == id_of(reference.get("actor")))
        )
        if initiative is not None and candidate is not None:
            row = await db.scalar(
                select(InitiativePartner).where(
                    InitiativePartner.initiative_id == initiative.id,
                    InitiativePartner.actor_id == candidate.id,
                    InitiativePartner.state == "requested",
                )
            )
            if row is not None:
                return initiative, row
    return None


async def _tribe_of(db: AsyncSession, document: dict[str, Any], page: dict[str, Any]) -> Tribe:
    """The tribe a new Page is for: one of ours it names (``audience``, ``to``, ``cc``),
    else a remote Group we know."""
    named = named_ids(
        document.get("audience"), page.get("audience"), document.get("to"), page.get("to"),
        document.get("cc"), page.get("cc"),
    )
    local = await tribes_by_actor_ids(db, set(named))
    if local:
        return local[0]
    for ident in named:
        group = await db.scalar(select(Actor).where(Actor.ap_id == ident))
        if group is not None and group.type == "Group" and not group.local:
            return await ensure_remote_tribe(db, group)
    raise BadActivity("name the initiative's tribe in audience")


# ------------------------------------------------------------------ the Page


def _page_values(page: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Initiative fields from a client's ``Page`` (only the terms present when ``partial``)."""
    doc = dict(page)
    text = text_of(page, required=False)
    doc["source"] = {"content": text, "mediaType": "text/markdown"}
    fields = page_fields(doc)
    fields["description"] = text
    for key in ("start_date", "end_date"):
        if fields.get(key) is not None:
            fields[key] = fields[key].isoformat()
        elif not partial:
            fields[key] = ""
    fields["tags"] = ", ".join(fields.get("tags") or [])
    if page.get("visibility") not in initiatives.VISIBILITIES and not partial and not named_ids(
        page.get("to"), page.get("cc")
    ):
        fields["visibility"] = "public"  # the web form's default audience
    if not partial:
        return {k: v for k, v in fields.items() if v is not None or k == "budget_amount"}
    keep = {name for term, names in _PAGE_TERMS.items() if term in page for name in names}
    return {k: v for k, v in fields.items() if k in keep}


async def _create_page(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any],
    page: dict[str, Any],
) -> OutboxActivity:
    tribe = await _tribe_of(db, document, page)
    if not await tribes.may_start_initiative(db, tribe, owner):
        raise Forbidden("You may not start an initiative in this tribe.")
    values = _page_values(page, partial=False)
    if not values.get("name"):
        raise BadActivity("a Page needs a name")
    before = await mark(db)
    created = await initiatives.create_initiative(db, state.settings, tribe, owner, **values)
    await _set_page_image(db, state, owner, created, page)
    return await result(db, state.settings, before, owner, "Create", created.ap_id)


async def _set_page_image(
    db: AsyncSession, state: AppState, owner: Actor, initiative: Initiative,
    page: dict[str, Any],
) -> None:
    """A Page's ``image`` naming one's upload (``outbox_media``): the form's picture."""
    image = page.get("image")
    if image is None:
        return
    data = await outbox_media.own_upload_bytes(db, state.settings, owner, image)
    if data is not None:
        await initiatives.set_image(db, state.settings, initiative, owner, data)


async def _update_page(
    db: AsyncSession, state: AppState, owner: Actor, page: dict[str, Any]
) -> OutboxActivity:
    initiative = await _initiative(db, id_of(page.get("id")))
    if initiative is None:
        raise NotFound("This initiative does not exist.")
    before = await mark(db)
    archived = page.get("archived")
    if isinstance(archived, bool) and archived != (initiative.archived_at is not None):
        if not archived:
            await initiatives.archive(db, state.settings, initiative, owner, archived=False)
    values = _page_values(page, partial=True)
    if values:
        await initiatives.update_initiative(db, state.settings, initiative, owner, **values)
    await _set_page_image(db, state, owner, initiative, page)
    if archived is True and initiative.archived_at is None:
        await initiatives.archive(db, state.settings, initiative, owner, archived=True)
    return await result(db, state.settings, before, owner, "Update", initiative.ap_id)


# ------------------------------------------------------------------ lanes and tasks


async def _lane(db: AsyncSession, initiative: Initiative, name: Any) -> Lane | None:
    if not isinstance(name, str) or not name.strip():
        return None
    for lane in await initiative_board.lanes_of(db, initiative):
        if lane.name == name.strip():
            return lane
    return None


async def _lane_for(
    db: AsyncSession, state: AppState, owner: Actor, initiative: Initiative, name: Any
) -> Lane | None:
    """The lane named ``name``, made (by the same service as the board's form) when it
    does not exist yet; None when no lane is named."""
    found = await _lane(db, initiative, name)
    if found is None and isinstance(name, str) and name.strip():
        found = await initiative_board.create_lane(
            db, state.settings, initiative, owner, name.strip()
        )
    return found


async def _lane_action(
    db: AsyncSession, state: AppState, owner: Actor, kind: str, lane: dict[str, Any]
) -> OutboxActivity:
    initiative = await _initiative(db, id_of(lane.get("context")) or id_of(lane.get("target")))
    if initiative is None:
        raise NotFound("This initiative does not exist.")
    before = await mark(db)
    shown = {"type": "Lane", "context": initiative.ap_id, "name": lane.get("name")}
    if kind == "Create":
        await initiative_board.create_lane(
            db, state.settings, initiative, owner, str(lane.get("name") or "")
        )
    else:
        named = lane.get("formerName" if kind == "Update" else "name")
        current = await _lane(db, initiative, named)
        if current is None:
            raise NotFound("This lane does not exist.")
        if kind == "Update":
            await initiative_board.rename_lane(
                db, state.settings, initiative, owner, current.id, str(lane.get("name") or "")
            )
            shown["formerName"] = lane.get("formerName")
        else:
            await initiative_board.delete_lane(db, state.settings, initiative, owner, current.id)
    return await result(db, state.settings, before, owner, kind, shown)


def _task_values(ticket: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in ticket or not partial:
        name = ticket.get("name")
        values["name"] = name if isinstance(name, str) else ""
    if "content" in ticket or "source" in ticket or not partial:
        values["description"] = text_of(ticket, required=False)
    if "endTime" in ticket or not partial:
        due = ticket.get("endTime")
        values["due_date"] = due[:10] if isinstance(due, str) else ""
    if "talents" in ticket or not partial:
        values["tags"] = ", ".join(str(t) for t in as_list(ticket.get("talents")))
    return values


async def _create_ticket(
    db: AsyncSession, state: AppState, owner: Actor, ticket: dict[str, Any]
) -> OutboxActivity:
    initiative = await _initiative(
        db, id_of(ticket.get("context")) or id_of(ticket.get("attributedTo"))
    )
    if initiative is None:
        raise BadActivity("name the task's initiative in context")
    before = await mark(db)
    lane = await _lane_for(db, state, owner, initiative, ticket.get("lane"))
    values = _task_values(ticket, partial=False)
    task = await initiative_board.add_task(
        db, state.settings, initiative, owner, lane_id=lane.id if lane else None, **values
    )
    if ticket.get("isResolved") is True:
        await initiative_board.complete_task(db, state.settings, initiative, owner, task.id)
    return await result(db, state.settings, before, owner, "Create", task.ap_id)


async def _update_ticket(
    db: AsyncSession, state: AppState, owner: Actor, ticket: dict[str, Any]
) -> OutboxActivity:
    found = await _task(db, id_of(ticket.get("id")))
    if found is None:
        raise NotFound("This task does not exist.")
    initiative, task = found
    settings = state.settings
    before = await mark(db)
    values = _task_values(ticket, partial=True)
    if values:
        await initiative_board.edit_task(db, settings, initiative, owner, task.id, **values)
    position = ticket.get("position")
    lane = await _lane_for(db, state, owner, initiative, ticket.get("lane"))
    if lane is not None and (lane.id != task.lane_id or isinstance(position, int)):
        await initiative_board.move_task(
            db, settings, initiative, owner, task.id, lane_id=lane.id,
            position=position if isinstance(position, int) else None,
        )
    elif isinstance(position, int) and position != task.position:
        await initiative_board.move_task(
            db, settings, initiative, owner, task.id, lane_id=task.lane_id, position=position
        )
    resolved = ticket.get("isResolved")
    if resolved is True and task.completed_at is None:
        await initiative_board.complete_task(db, settings, initiative, owner, task.id)
    elif resolved is False and task.completed_at is not None:
        await initiative_board.reopen_task(db, settings, initiative, owner, task.id)
    return await result(db, settings, before, owner, "Update", task.ap_id)


# ------------------------------------------------------------------ contributions


async def _offer(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    obj = document.get("object")
    contribution = obj if isinstance(obj, dict) else {}
    found = await _task(
        db, id_of(contribution.get("target")) or id_of(document.get("target"))
    )
    if found is None:
        if _type_of(obj) == "Contribution":
            raise NotFound("This task does not exist.")
        return None
    initiative, task = found
    before = await mark(db)
    await contributions.offer(
        db, state.settings, initiative, owner, task.id,
        hours=contribution.get("hours"),
        resources=str(contribution.get("resources") or ""),
        motivation=str(contribution.get("motivation") or text_of(contribution, required=False)),
    )
    return await result(db, state.settings, before, owner, "Offer", task.ap_id)


async def _answer(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Accept/Reject of an Offer (a contribution) or of a Join (a partnership request)."""
    kind = str(document.get("type"))
    accept = kind == "Accept"
    obj = document.get("object")
    before = await mark(db)
    offered = await _contribution(db, obj)
    if offered is not None:
        initiative, contribution = offered
        await contributions.decide(
            db, state.settings, initiative, owner, contribution.id, accept=accept
        )
        return await result(db, state.settings, before, owner, kind, contribution.offer_ap_id)
    requested = await _join_request(db, obj)
    if requested is not None:
        initiative, row = requested
        if accept:
            await initiative_people.accept_partner(
                db, state.settings, initiative, owner, row.actor_id
            )
        else:
            await initiative_people.decline_partner(
                db, state.settings, initiative, owner, row.actor_id
            )
        return await result(db, state.settings, before, owner, kind, id_of(obj))
    return None


async def _rate(
    db: AsyncSession, state: AppState, owner: Actor, rating: dict[str, Any]
) -> OutboxActivity:
    offered = await _contribution(db, rating.get("object") or rating.get("inReplyTo"))
    if offered is None:
        raise NotFound("This contribution does not exist.")
    initiative, contribution = offered
    before = await mark(db)
    await contributions.rate(
        db, state.settings, initiative, owner, contribution.id, score=rating.get("rating"),
        feedback=text_of(rating, required=False),
    )
    return await result(db, state.settings, before, owner, "Create", contribution.ap_id)


# ------------------------------------------------------------------ notes


async def _note(
    db: AsyncSession, state: AppState, owner: Actor, kind: str, note: dict[str, Any]
) -> OutboxActivity | None:
    """A message or comment (Create), an edit (Update) of a comment; None when the note is
    not about an initiative (an ordinary note)."""
    settings = state.settings
    if kind == "Update":
        found = await _comment(db, id_of(note.get("id")))
        if found is None:
            return None
        initiative, comment = found
        before = await mark(db)
        await conversation.edit_comment(
            db, settings, initiative, owner, comment.id, text_of(note)
        )
        return await result(db, settings, before, owner, "Update", comment.ap_id)
    target = id_of(note.get("inReplyTo"))
    if not target:
        return None
    before = await mark(db)
    page = await _initiative(db, target)
    if page is not None:
        if note.get("isUpdate") is True:
            entry = await conversation.post_message(db, settings, page, owner, text_of(note))
            return await result(db, settings, before, owner, "Create", entry.ap_id)
        comment = await conversation.add_comment(db, settings, page, owner, text_of(note))
        return await result(db, settings, before, owner, "Create", comment.ap_id)
    where: dict[str, Any] = {}
    message = await _message(db, target)
    if message is not None:
        initiative, entry = message
        where["update_id"] = entry.id
    else:
        task = await _task(db, target)
        if task is not None:
            initiative, found_task = task
            where["task_id"] = found_task.id
        else:
            parent = await _comment(db, target)
            if parent is None:
                return None
            initiative, parent_comment = parent
            where["parent_id"] = parent_comment.id
    comment = await conversation.add_comment(
        db, settings, initiative, owner, text_of(note), **where
    )
    return await result(db, settings, before, owner, "Create", comment.ap_id)


# ------------------------------------------------------------------ deletions and undo


async def _delete(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    obj = document.get("object")
    if _type_of(obj) == "Lane":
        assert isinstance(obj, dict)
        return await _lane_action(db, state, owner, "Delete", obj)
    target = id_of(obj)
    settings = state.settings
    before = await mark(db)
    initiative = await _initiative(db, target)
    if initiative is not None:
        await initiatives.delete_initiative(db, settings, initiative, owner)
        return await result(db, settings, before, owner, "Delete", target)
    task = await _task(db, target)
    if task is not None:
        await initiative_board.delete_task(db, settings, task[0], owner, task[1].id)
        return await result(db, settings, before, owner, "Delete", target)
    comment = await _comment(db, target)
    if comment is not None:
        await conversation.delete_comment(db, settings, comment[0], owner, comment[1].id)
        return await result(db, settings, before, owner, "Delete", target)
    return None


async def _undo(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Undo of one's Offer (withdraw) or of one's Like of a Page (stop supporting)."""
    inner = document.get("object")
    original: Any = inner
    inner_id = id_of(inner)
    if inner_id:
        row = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.ap_id == inner_id, OutboxActivity.actor_id == owner.id
            )
        )
        if row is not None:
            original = row.payload
    if not isinstance(original, dict):
        return None
    settings = state.settings
    before = await mark(db)
    if original.get("type") == "Offer":
        offered = await _contribution(db, original)
        if offered is None:
            offered = await _contribution(db, inner_id)
        if offered is None:
            return None
        await contributions.withdraw(db, settings, offered[0], owner, offered[1].id)
        return await result(db, settings, before, owner, "Undo", inner_id)
    if original.get("type") == "Like":
        initiative = await _initiative(db, id_of(original.get("object")))
        if initiative is None:
            return None
        await initiative_people.unsupport(db, settings, initiative, owner)
        return await result(db, settings, before, owner, "Undo", inner_id)
    return None


# ------------------------------------------------------------------ the dispatcher


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Perform a client's activity about an initiative; None when it is not about one."""
    kind = document.get("type")
    obj = document.get("object")
    obj_type = _type_of(obj)
    settings = state.settings
    if kind in ("Create", "Update") and isinstance(obj, dict):
        if obj_type == "Page":
            if kind == "Create":
                return await _create_page(db, state, owner, document, obj)
            return await _update_page(db, state, owner, obj)
        if obj_type == "Lane":
            return await _lane_action(db, state, owner, kind, obj)
        if obj_type == "Ticket":
            if kind == "Create":
                return await _create_ticket(db, state, owner, obj)
            return await _update_ticket(db, state, owner, obj)
        if obj_type == "Rating" and kind == "Create":
            return await _rate(db, state, owner, obj)
        if obj_type == "Note":
            return await _note(db, state, owner, kind, obj)
        return None
    if kind == "Offer":
        return await _offer(db, state, owner, document)
    if kind in ("Accept", "Reject"):
        return await _answer(db, state, owner, document)
    if kind == "Delete":
        return await _delete(db, state, owner, document)
    if kind == "Undo":
        return await _undo(db, state, owner, document)
    if kind in ("Like", "Join", "Leave"):
        initiative = await _initiative(db, id_of(obj))
        if initiative is None:
            return None
        before = await mark(db)
        if kind == "Like":
            await initiative_people.support(db, settings, initiative, owner)
        elif kind == "Join":
            message = text_of(document, required=False)
            await initiative_people.request_partnership(
                db, settings, initiative, owner, message
            )
        else:
            await initiative_people.leave_partnership(db, settings, initiative, owner)
        return await result(db, settings, before, owner, kind, initiative.ap_id)
    return None
