"""Polls over the C2S outbox: ``Create``/``Update``/``Delete`` of a ``Question``, and votes.

The organiser posts ``Create{Question}`` to their outbox with the tribe as ``audience``
(or, for a poll about an initiative, the initiative's id as ``context``): ``name`` or
``content`` is the question, ``oneOf`` (one answer) or ``anyOf`` (several) the options as
``Note``s with a ``name``, ``endTime`` the closing time. Two terms of ours choose who may
vote (``voters``: members | partners | anyone, default members) and when the results
show (``results``: live | closed, default live). ``Update{Question}`` edits it (with
``closed`` set, it closes it now), ``Delete`` of its id cancels it. A vote is
``Create{Note}`` with ``name`` = the option and
``inReplyTo`` = the Question (ours or another server's), as Mastodon votes. Each goes to
the same service as the web pages (``fedi.domain.polls``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.timefmt import parse_datetime
from activitypub.vocab import as_list, id_of
from fedi.domain import polls
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.tribe_posts import tribes_by_actor_ids
from fedi.federation.incoming.polls import question_fields, remote_poll_for
from fedi.state import AppState
from fedi.text import plain_text
from models import Actor, ApObject, Initiative, OutboxActivity, Poll

__all__ = ["claims", "perform"]


def _object(document: dict[str, Any]) -> Any:
    return document.get("object")


def _object_dict(document: dict[str, Any]) -> dict[str, Any]:
    """The embedded object of an activity the dispatch has already seen to be a dict
    (a Question or a vote)."""
    obj = _object(document)
    assert isinstance(obj, dict)
    return obj


def _is_question(obj: Any) -> bool:
    return isinstance(obj, dict) and "Question" in as_list(obj.get("type"))


def _is_vote(obj: Any) -> bool:
    return (
        isinstance(obj, dict) and "Note" in as_list(obj.get("type"))
        and isinstance(obj.get("name"), str) and bool(id_of(obj.get("inReplyTo")))
        and not plain_text(str(obj.get("content") or "")).strip()
    )


async def claims(db: AsyncSession, document: dict[str, Any]) -> bool:
    """Whether ``document`` (already wrapped in ``Create`` when bare) is about a poll."""
    kind, obj = document.get("type"), _object(document)
    if kind in ("Create", "Update") and _is_question(obj):
        return True
    if kind == "Create" and _is_vote(obj):
        return True
    if kind == "Delete":
        target = id_of(obj)
        return bool(target) and await polls.poll_by_ap_id(db, target or "") is not None
    return False


def _end_time(obj: dict[str, Any]) -> datetime | None:
    value = obj.get("endTime")
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise ServiceError("endTime is not a valid time", field="end_time") from exc


def _question_text(obj: dict[str, Any]) -> str:
    name = obj.get("name")
    if isinstance(name, str) and name.strip():
        return name
    return plain_text(str(obj.get("content") or ""))


def _option_names(obj: dict[str, Any]) -> list[str]:
    fields = question_fields(obj)
    return [name for name, _count in fields["options"]] if fields else []


async def _activity(db: AsyncSession, **where: Any) -> OutboxActivity:
    row = await db.scalar(
        select(OutboxActivity)
        .filter_by(**where)
        .order_by(OutboxActivity.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("activity not found")
    return row


async def _own_poll(db: AsyncSession, obj: Any) -> Poll:
    poll = await polls.poll_by_ap_id(db, id_of(obj) or "")
    if poll is None or not poll.local or poll.deleted_at is not None:
        raise NotFound("This poll does not exist.")
    return poll


async def _create(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    obj = _object_dict(document)
    initiative = None
    context = id_of(obj.get("context")) or id_of(document.get("context"))
    if context and state.settings.is_local_id(context):
        initiative = await db.scalar(select(Initiative).where(Initiative.ap_id == context))
    if initiative is not None:
        tribe = initiative.tribe
    else:
        audience = {
            ident for ident in (
                *as_list(obj.get("audience")), *as_list(document.get("audience"))
            ) if isinstance(id_of(ident), str)
        }
        found = await tribes_by_actor_ids(db, {id_of(a) or "" for a in audience})
        if not found:
            raise ServiceError("name the tribe of this poll as its audience")
        tribe = found[0]
    voters = obj.get("voters") if isinstance(obj.get("voters"), str) else "members"
    results = obj.get("results") if isinstance(obj.get("results"), str) else "live"
    poll = await polls.create_poll(
        db, state.settings, owner, tribe=tribe, initiative=initiative,
        question=_question_text(obj), options=_option_names(obj),
        multiple=bool(as_list(obj.get("anyOf"))), end_time=_end_time(obj),
        voters=str(voters), results=str(results),
    )
    return await _activity(db, object_ap_id=poll.ap_id, type="Create", actor_id=owner.id)


async def _update(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    obj = _object_dict(document)
    poll = await _own_poll(db, obj)
    if obj.get("closed"):
        # ``closed`` set (a time, or true): the organiser closes the poll now.
        await polls.close_poll(db, state.settings, owner, poll)
    else:
        names = _option_names(obj)
        await polls.edit_poll(
            db, state.settings, owner, poll, question=_question_text(obj) or None,
            end_time=_end_time(obj), options=names or None,
        )
    return await _activity(db, object_ap_id=poll.ap_id, type="Update", actor_id=owner.id)


async def _delete(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    poll = await _own_poll(db, _object(document))
    await polls.delete_poll(db, state.settings, owner, poll)
    return await _activity(db, object_ap_id=poll.ap_id, type="Delete", actor_id=owner.id)


async def _vote(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    obj = _object_dict(document)
    question = id_of(obj.get("inReplyTo")) or ""
    poll = await polls.poll_by_ap_id(db, question)
    if poll is None or not poll.local:
        stored = await db.scalar(select(ApObject).where(ApObject.ap_id == question))
        poll = await remote_poll_for(db, stored) if stored is not None else None
    if poll is None:
        raise NotFound("This poll does not exist.")
    votes = await polls.vote(db, state.settings, owner, poll, [obj["name"]])
    return await _activity(db, ap_id=f"{votes[0].ap_id}/activity")


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    """Carry out a poll activity (see :func:`claims`) as ``owner``; the activity we sent."""
    kind, obj = document.get("type"), _object(document)
    if kind == "Delete":
        return await _delete(db, state, owner, document)
    if kind == "Update":
        return await _update(db, state, owner, document)
    if _is_question(obj):
        return await _create(db, state, owner, document)
    return await _vote(db, state, owner, document)
