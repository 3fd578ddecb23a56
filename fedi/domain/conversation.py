"""An initiative's conversation: its typed history, free messages, comments and @mentions.

Every change the other initiative services make is written as an ``InitiativeUpdate``
(``initiative_history.record_update``), so the timeline here is the history and nothing is
edited away silently.
Free messages are updates of kind ``message``. Comments hang under an update, a task, or
the initiative itself, and may answer another comment.

Mentions: ``@name`` (a person here), ``@name@host`` (a known remote person), and the two
group mentions ``@partners`` and ``@supporters``; every local person mentioned gets a
``mention`` notification. Posting a message or comment makes the author a supporter (as
in Part-up) unless they are a partner already.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import initiative_people, notifications, ratelimit
from fedi.domain.account_suspension import shown_author
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_initiatives import (
    CommentCreated,
    CommentDeleted,
    CommentUpdated,
    MessagePosted,
)
from fedi.domain.initiative_access import (
    active_partners,
    is_partner,
    require_open,
    require_person,
    require_view,
    supporters,
)
from fedi.domain.initiative_history import record_update
from fedi.domain.initiative_lists import shown_entry
from fedi.domain.mentions import MentionLink, find_mentions, link_text
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, Comment, Initiative, InitiativeUpdate, Task, utcnow

GROUP_MENTIONS = ("partners", "supporters")
MAX_TEXT = 5000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str, field: str = "content") -> str:
    """Checked message/comment text: not empty, at most ``MAX_TEXT`` characters."""
    text = _CONTROL.sub("", str(value).replace("\r\n", "\n")).strip()
    if not text:
        raise ServiceError("Please write something first.", field=field)
    if len(text) > MAX_TEXT:
        raise ServiceError("A message has at most %(max)s characters.", field=field, max=MAX_TEXT)
    return text


async def _lookup(db: AsyncSession, settings: Settings, username: str, host: str) -> Actor | None:
    if host == settings.host.lower():
        return await db.scalar(
            select(Actor).where(
                Actor.local.is_(True), Actor.type == "Person",
                func.lower(Actor.username) == username.lower(),
            )
        )
    return await db.scalar(
        select(Actor).where(
            func.lower(Actor.username) == username.lower(), func.lower(Actor.domain) == host
        )
    )


async def resolve_mentions(
    db: AsyncSession, settings: Settings, initiative: Initiative, text: str
) -> tuple[list[Actor], str]:
    """The people mentioned in ``text`` (group mentions expanded) and its rendered HTML.

    Unknown names stay plain text; a remote person must be known here already.
    """
    people: dict[int, Actor] = {}
    links: dict[str, MentionLink] = {}
    local_host = settings.host.lower()
    for ref in find_mentions(text, local_host):
        if ref.host == local_host and ref.username.lower() in GROUP_MENTIONS:
            group = (
                await active_partners(db, initiative)
                if ref.username.lower() == "partners"
                else await supporters(db, initiative)
            )
            for person in group:
                people.setdefault(person.id, person)
            continue
        actor = await _lookup(db, settings, ref.username, ref.host)
        if actor is None:
            continue
        people.setdefault(actor.id, actor)
        url = actor.url or actor.ap_id
        if actor.local:
            url = settings.url(f"/@{actor.username}")
        links[ref.handle.lower()] = MentionLink(url=url, username=actor.username)
    html = link_text(render_markdown(text), links, local_host)
    return list(people.values()), html


async def _become_supporter(
    db: AsyncSession, settings: Settings, initiative: Initiative, actor: Actor
) -> None:
    # Imported here: initiative_people records updates through this module.

    if not await is_partner(db, initiative, actor):
        await initiative_people.support(db, settings, initiative, actor, quiet=True)


async def post_message(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    author: Actor,
    text: str,
    *,
    ap_id: str | None = None,
) -> InitiativeUpdate:
    """Post a free message in the initiative (anyone who can see it, logged in)."""
    require_person(author)
    await require_view(db, initiative, author)
    require_open(initiative)
    source = clean_text(text)
    if author.local:  # remote servers are held by the inbox's limit per domain
        await ratelimit.take_post(db, settings.posts_per_3_hours, author.id)
    mentioned, html = await resolve_mentions(db, settings, initiative, source)
    entry = await record_update(db, initiative, "message", author)
    entry.content_source = source
    entry.content_html = html
    entry.ap_id = ap_id or settings.url(f"/initiatives/{initiative.id}/updates/{entry.id}")
    await db.flush()
    await _become_supporter(db, settings, initiative, author)
    link = {"initiative": initiative.name, "update_id": entry.id}
    await notifications.notify(
        db, [*await active_partners(db, initiative), *await supporters(db, initiative)],
        "message", by=author, initiative_id=initiative.id, payload=link,
    )
    await notifications.notify(
        db, mentioned, "mention", by=author, initiative_id=initiative.id, payload=link
    )
    await emit(db, settings, MessagePosted(initiative, author, update=entry))
    return entry


async def get_comment(db: AsyncSession, initiative: Initiative, comment_id: int) -> Comment:
    """A comment of this initiative; ``NotFound`` otherwise."""
    comment = await db.get(Comment, comment_id)
    if comment is None or comment.initiative_id != initiative.id:
        raise NotFound("This comment does not exist.")
    return comment


async def add_comment(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    author: Actor,
    text: str,
    *,
    update_id: int | None = None,
    task_id: int | None = None,
    parent_id: int | None = None,
    ap_id: str | None = None,
    in_reply_to_ap_id: str | None = None,
) -> Comment:
    """Comment under an update, a task, another comment, or the initiative itself.

    Anyone who can see the initiative may comment; it makes them a supporter. The people
    involved (partners, the author of what is answered) and everyone mentioned are told.
    """
    require_person(author)
    await require_view(db, initiative, author)
    require_open(initiative)
    source = clean_text(text)
    told: list[Actor] = list(await active_partners(db, initiative))
    reply_to = in_reply_to_ap_id or initiative.ap_id
    if parent_id is not None:
        parent = await get_comment(db, initiative, parent_id)
        update_id = update_id or parent.update_id
        task_id = task_id or parent.task_id
        told.append(parent.author)
        reply_to = in_reply_to_ap_id or parent.ap_id
    if update_id is not None:
        entry = await db.get(InitiativeUpdate, update_id)
        if entry is None or entry.initiative_id != initiative.id:
            raise NotFound("This update does not exist.")
        if entry.actor is not None:
            told.append(entry.actor)
        reply_to = reply_to if parent_id else (in_reply_to_ap_id or entry.ap_id or reply_to)
    if task_id is not None:
        task = await db.get(Task, task_id)
        if task is None or task.initiative_id != initiative.id:
            raise NotFound("This task does not exist.")
        reply_to = reply_to if parent_id or update_id else (in_reply_to_ap_id or task.ap_id)
    if author.local:  # remote servers are held by the inbox's limit per domain
        await ratelimit.take_post(db, settings.posts_per_3_hours, author.id)
    mentioned, html = await resolve_mentions(db, settings, initiative, source)
    comment = Comment(
        initiative_id=initiative.id, update_id=update_id, task_id=task_id, parent_id=parent_id,
        author_id=author.id, content_source=source, content_html=html,
        in_reply_to_ap_id=reply_to,
    )
    comment.author = author
    db.add(comment)
    await db.flush()
    comment.ap_id = ap_id or settings.url(f"/initiatives/{initiative.id}/comments/{comment.id}")
    await db.flush()
    await _become_supporter(db, settings, initiative, author)
    link = {"initiative": initiative.name, "comment_id": comment.id, "task_id": task_id}
    mentioned_ids = {person.id for person in mentioned}
    await notifications.notify(
        db, [person for person in told if person.id not in mentioned_ids], "comment",
        by=author, initiative_id=initiative.id, payload=link,
    )
    await notifications.notify(
        db, mentioned, "mention", by=author, initiative_id=initiative.id, payload=link
    )
    await emit(db, settings, CommentCreated(initiative, author, comment=comment))
    return comment


async def edit_comment(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    editor: Actor,
    comment_id: int,
    text: str,
) -> Comment:
    """The author edits their own comment."""
    await require_view(db, initiative, editor)
    comment = await get_comment(db, initiative, comment_id)
    if comment.author_id != editor.id or comment.deleted_at is not None:
        raise Forbidden("You can only edit your own comments.")
    source = clean_text(text)
    _mentioned, html = await resolve_mentions(db, settings, initiative, source)
    comment.content_source = source
    comment.content_html = html
    comment.edited_at = utcnow()
    await db.flush()
    await emit(db, settings, CommentUpdated(initiative, editor, comment=comment))
    return comment


async def delete_comment(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    comment_id: int,
) -> Comment:
    """The author deletes their own comment; it stays as "deleted" so replies keep a parent."""
    comment = await get_comment(db, initiative, comment_id)
    if comment.author_id != actor.id:
        raise Forbidden("You can only delete your own comments.")
    if comment.deleted_at is None:
        comment.deleted_at = utcnow()
        comment.content_source = ""
        comment.content_html = ""
        await db.flush()
        await emit(db, settings, CommentDeleted(initiative, actor, comment=comment))
    return comment


async def timeline(
    db: AsyncSession, initiative: Initiative, *, limit: int = 100
) -> list[InitiativeUpdate]:
    """The initiative's history, newest first."""
    rows = await db.scalars(
        select(InitiativeUpdate)
        .where(InitiativeUpdate.initiative_id == initiative.id, shown_entry())
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(limit)
    )
    return list(rows.unique().all())


async def comments_by_update(
    db: AsyncSession, initiative: Initiative, *, task_id: int | None = None
) -> dict[int | None, list[Comment]]:
    """Comments grouped by the update they are under (None: on the initiative or task).

    With ``task_id`` only that task's comments are returned (all under key None).
    """
    query = select(Comment).where(
        Comment.initiative_id == initiative.id, shown_author(Comment.author_id)
    )
    if task_id is not None:
        query = query.where(Comment.task_id == task_id)
    else:
        query = query.where(Comment.task_id.is_(None))
    rows = await db.scalars(query.order_by(Comment.created_at, Comment.id))
    groups: dict[int | None, list[Comment]] = {}
    for comment in rows.unique().all():
        key = None if task_id is not None else comment.update_id
        groups.setdefault(key, []).append(comment)
    return groups
