"""Polls (decisions) on a tribe or an initiative: the rules, once for every way in.

The web pages, the C2S outbox and incoming votes (a Mastodon user voting from their app)
all come through these services:

* create: an active member of the (local) tribe; for a poll about an initiative, its
  creator or a partner. 2 to 10 distinct options, single or multiple choice, a closing
  time in the future, who may vote (``members`` of the tribe, ``partners`` of the
  initiative, ``anyone`` not blocked by the tribe) and whether results show live or
  only once closed.
* edit, close, cancel/delete: the organiser, or a tribe admin or moderator. Options can
  only change while nobody has voted.
* vote: once per person for a single-choice poll, once per option for a multiple-choice
  one (Mastodon sends one vote ``Note`` per chosen option); only while open.
* closing: a poll closes when its time has run out. Decided: *lazily on read* (every
  service and page that reads a poll closes it first when due) *plus a periodic sweep*
  (``close_due_polls``, run by the workers), so the final ``Update{Question}`` goes out
  even when nobody looks.
* a closed poll about an initiative becomes an entry of the initiative's history (a
  decision taken).

A poll from another server (``local`` false) is a mirror: its options and counts are what
its server last said (``record_remote_poll``); here only our own people vote in it, and
the vote is sent to its author (its server applies the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_polls import (
    PollClosed,
    PollCreated,
    PollDeleted,
    PollUpdated,
    PollVoted,
)
from fedi.domain.initiative_access import can_edit, can_view, is_partner, require_person
from fedi.domain.initiative_history import record_update
from fedi.domain.tribe_access import is_blocked, role_at_least, role_of
from fedi.settings import Settings
from models import Actor, Initiative, Poll, PollOption, PollVote, Tribe, utcnow

__all__ = [
    "MAX_OPTIONS",
    "RESULTS",
    "VOTERS",
    "PollView",
    "close_due_polls",
    "close_poll",
    "create_poll",
    "delete_poll",
    "edit_poll",
    "ensure_closed",
    "get_poll",
    "may_vote",
    "poll_ap_id",
    "poll_by_ap_id",
    "polls_of_initiative",
    "polls_of_tribe",
    "record_remote_poll",
    "results_visible",
    "view_of",
    "vote",
    "votes_of",
]

VOTERS = ("members", "partners", "anyone")
RESULTS = ("live", "closed")
MAX_OPTIONS = 10
MAX_QUESTION = 500
MAX_OPTION = 200


def poll_ap_id(settings: Settings, poll: Poll) -> str:
    """The ``Question`` id of a poll of ours: ``{base}/polls/<id>``."""
    return settings.url(f"/polls/{poll.id}")


async def get_poll(db: AsyncSession, poll_id: int) -> Poll:
    """The poll with this id; ``NotFound`` when missing or deleted."""
    poll = await db.get(Poll, poll_id)
    if poll is None or poll.deleted_at is not None:
        raise NotFound("This poll does not exist.")
    return poll


async def poll_by_ap_id(db: AsyncSession, ap_id: str) -> Poll | None:
    """The poll (ours or a remote mirror) with this ``Question`` id, deleted or not."""
    return await db.scalar(select(Poll).where(Poll.ap_id == ap_id))


def _clean_options(options: Sequence[str]) -> list[str]:
    names = [" ".join(str(o).split())[:MAX_OPTION] for o in options]
    names = [n for n in names if n]
    if len(names) < 2:
        raise ServiceError("A poll needs at least two options.", field="options")
    if len(names) > MAX_OPTIONS:
        raise ServiceError("A poll has at most %(n)s options.", field="options", n=MAX_OPTIONS)
    if len({n.casefold() for n in names}) != len(names):
        raise ServiceError("Each option must be different.", field="options")
    return names


def _clean_question(question: str) -> str:
    text = " ".join(str(question).split())
    if not text:
        raise ServiceError("Please write the question.", field="question")
    if len(text) > MAX_QUESTION:
        raise ServiceError("The question is too long.", field="question")
    return text


def _check_end(end_time: datetime | None, now: datetime) -> datetime:
    if end_time is None:
        raise ServiceError("Please choose when the poll closes.", field="end_time")
    if end_time <= now:
        raise ServiceError("The closing time must be in the future.", field="end_time")
    return end_time


async def _may_manage(db: AsyncSession, poll: Poll, actor: Actor | None) -> bool:
    if actor is None or poll.deleted_at is not None or not poll.local:
        return False
    if poll.author_id == actor.id:
        return True
    tribe = await db.get(Tribe, poll.tribe_id) if poll.tribe_id else None
    return tribe is not None and role_at_least(await role_of(db, tribe, actor), "moderator")


async def _require_manage(db: AsyncSession, poll: Poll, actor: Actor | None) -> Actor:
    person = require_person(actor)
    if not await _may_manage(db, poll, person):
        raise Forbidden("Only the organiser of this poll may do this.")
    return person


async def create_poll(
    db: AsyncSession,
    settings: Settings,
    author: Actor,
    *,
    tribe: Tribe,
    question: str,
    options: Sequence[str],
    end_time: datetime | None,
    multiple: bool = False,
    voters: str = "members",
    results: str = "live",
    initiative: Initiative | None = None,
) -> Poll:
    """Create a poll in ``tribe`` (about ``initiative`` when given); see the module rules."""
    author = require_person(author)
    if not tribe.actor.local:
        raise Forbidden("Polls can only be held in tribes of this server.")
    if voters not in VOTERS:
        raise ServiceError("Choose who may vote.", field="voters")
    if results not in RESULTS:
        raise ServiceError("Choose when the results show.", field="results")
    if initiative is not None:
        if initiative.tribe_id != tribe.id or not await can_edit(db, initiative, author):
            raise Forbidden("Only the partners of this initiative may do this.")
        if initiative.archived_at is not None:
            raise Forbidden("This initiative is archived; it can no longer be changed.")
    else:
        if voters == "partners":
            raise ServiceError("Only a poll about an initiative can be for its partners.",
                               field="voters")
        if await role_of(db, tribe, author) is None:
            raise Forbidden("Only members of this tribe may do this.")
    now = utcnow()
    poll = Poll(
        local=True, author_id=author.id, tribe_id=tribe.id,
        initiative_id=initiative.id if initiative is not None else None,
        question=_clean_question(question), multiple=bool(multiple), voters=voters,
        results=results, end_time=_check_end(end_time, now),
    )
    poll.author = author
    poll.options = [
        PollOption(position=i, name=name) for i, name in enumerate(_clean_options(options))
    ]
    db.add(poll)
    await db.flush()
    poll.ap_id = poll_ap_id(settings, poll)
    await db.flush()
    await emit(db, settings, PollCreated(actor=author, poll=poll))
    return poll


async def edit_poll(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    poll: Poll,
    *,
    question: str | None = None,
    end_time: datetime | None = None,
    options: Sequence[str] | None = None,
) -> Poll:
    """Change the question, the closing time or (before anyone voted) the options."""
    person = await _require_manage(db, poll, actor)
    await ensure_closed(db, settings, poll)
    if poll.closed_at is not None:
        raise Forbidden("This poll is closed.")
    if question is not None:
        poll.question = _clean_question(question)
    if end_time is not None:
        poll.end_time = _check_end(end_time, utcnow())
    if options is not None:
        names = _clean_options(options)
        if names != [o.name for o in poll.options]:
            if poll.voters_count:
                raise Conflict("The options cannot change once people have voted.")
            poll.options.clear()
            await db.flush()
            poll.options.extend(PollOption(position=i, name=n) for i, n in enumerate(names))
    poll.updated_at = utcnow()
    await db.flush()
    await emit(db, settings, PollUpdated(actor=person, poll=poll))
    return poll


async def close_poll(
    db: AsyncSession, settings: Settings, actor: Actor | None, poll: Poll
) -> Poll:
    """Close the poll now (the organiser or a tribe moderator)."""
    await _require_manage(db, poll, actor)
    if poll.closed_at is None:
        await _close(db, settings, poll)
    return poll


async def _close(db: AsyncSession, settings: Settings, poll: Poll) -> None:
    """Close ``poll``, write the decision into the initiative's history, emit the event."""
    now = utcnow()
    poll.closed_at = min(now, poll.end_time) if poll.end_time else now
    await db.flush()
    author = poll.author or (await db.get(Actor, poll.author_id) if poll.author_id else None)
    if poll.initiative_id is not None:
        initiative = await db.get(Initiative, poll.initiative_id)
        if initiative is not None:
            tally = [{"name": o.name, "votes": o.votes_count} for o in poll.options]
            top = max((o.votes_count for o in poll.options), default=0)
            winners = [o.name for o in poll.options if top and o.votes_count == top]
            await record_update(
                db, initiative, "poll_closed", author, poll_id=poll.id,
                question=poll.question, results=tally, winners=winners,
                voters=poll.voters_count,
            )
    if author is not None:
        await emit(db, settings, PollClosed(actor=author, poll=poll))


async def ensure_closed(db: AsyncSession, settings: Settings, poll: Poll) -> None:
    """Close a poll of ours whose time has run out (the lazy close on read)."""
    if (
        poll.local and poll.closed_at is None and poll.deleted_at is None
        and poll.end_time is not None and poll.end_time <= utcnow()
    ):
        await _close(db, settings, poll)


async def close_due_polls(db: AsyncSession, settings: Settings, *, limit: int = 100) -> int:
    """Close the polls of ours whose time has run out (the periodic sweep); how many."""
    due = (
        await db.scalars(
            select(Poll)
            .where(
                Poll.local.is_(True), Poll.closed_at.is_(None), Poll.deleted_at.is_(None),
                Poll.end_time <= utcnow(),
            )
            .order_by(Poll.end_time)
            .limit(limit)
        )
    ).unique().all()
    for poll in due:
        await _close(db, settings, poll)
    return len(due)


async def delete_poll(db: AsyncSession, settings: Settings, actor: Actor, poll: Poll) -> None:
    """Cancel or delete a poll: it answers 410 from now on."""
    person = await _require_manage(db, poll, actor)
    poll.deleted_at = utcnow()
    await db.flush()
    await emit(db, settings, PollDeleted(actor=person, poll=poll))


async def may_vote(db: AsyncSession, poll: Poll, voter: Actor | None) -> bool:
    """Whether ``voter`` may vote in a poll of ours (who: see ``Poll.voters``)."""
    if voter is None or voter.type not in ("Person", "Service", "Application", "Organization"):
        return False
    if not poll.local:
        # A remote poll's server decides; here only our own people vote in it.
        return bool(voter.local)
    tribe = await db.get(Tribe, poll.tribe_id) if poll.tribe_id else None
    if tribe is None or await is_blocked(db, tribe, voter):
        return False
    initiative = await db.get(Initiative, poll.initiative_id) if poll.initiative_id else None
    if initiative is not None and not await can_view(db, initiative, voter):
        return False
    if poll.voters == "anyone":
        return True
    if poll.voters == "partners":
        return initiative is not None and (
            initiative.creator_id == voter.id or await is_partner(db, initiative, voter)
        )
    return await role_of(db, tribe, voter) is not None


async def votes_of(db: AsyncSession, poll: Poll, voter: Actor | None) -> set[int]:
    """The option ids ``voter`` chose in ``poll`` (empty when none, or anonymous)."""
    if voter is None:
        return set()
    rows = await db.scalars(
        select(PollVote.option_id).where(PollVote.poll_id == poll.id, PollVote.voter_id == voter.id)
    )
    return set(rows.all())


def _choose(poll: Poll, choices: Sequence[str | int]) -> list[PollOption]:
    """The options named by ``choices`` (option names, or positions)."""
    chosen: list[PollOption] = []
    for choice in choices:
        found = None
        for option in poll.options:
            if (isinstance(choice, int) and option.position == choice) or (
                isinstance(choice, str) and option.name == " ".join(choice.split())
            ):
                found = option
        if found is None:
            raise ServiceError("This poll has no such option.", field="choice")
        if found not in chosen:
            chosen.append(found)
    if not chosen:
        raise ServiceError("Please choose an option.", field="choice")
    if len(chosen) > 1 and not poll.multiple:
        raise ServiceError("Choose one option only.", field="choice")
    return chosen


async def vote(
    db: AsyncSession,
    settings: Settings,
    voter: Actor,
    poll: Poll,
    choices: Sequence[str | int],
    *,
    ap_ids: Sequence[str | None] = (),
) -> list[PollVote]:
    """Record ``voter``'s choice of ``choices`` (option names or positions).

    ``ap_ids`` are the vote ``Note`` ids (an incoming vote), one per choice. Refused
    (``Forbidden``) for people who may not vote and when the poll is closed; a second vote
    (``Conflict``) for a single-choice poll, or for an option already chosen.
    """
    if poll.deleted_at is not None:
        raise NotFound("This poll does not exist.")
    await ensure_closed(db, settings, poll)
    if poll.closed_at is not None or (
        not poll.local and poll.end_time is not None and poll.end_time <= utcnow()
    ):
        raise Forbidden("This poll is closed.")
    if not await may_vote(db, poll, voter):
        raise Forbidden("You may not vote in this poll.")
    chosen = _choose(poll, choices)
    # Two votes of one person at once (two inbox workers) must not both pass the check
    # below: the poll row is locked until this transaction ends (PostgreSQL; SQLite
    # writers take turns anyway).
    await db.execute(select(Poll.id).where(Poll.id == poll.id).with_for_update())
    before = await votes_of(db, poll, voter)
    if before and not poll.multiple:
        raise Conflict("You have voted in this poll already.")
    if any(option.id in before for option in chosen):
        raise Conflict("You have chosen this option already.")
    ids = list(ap_ids) + [None] * (len(chosen) - len(ap_ids))
    made: list[PollVote] = []
    for option, ap_id in zip(chosen, ids, strict=False):
        row = PollVote(poll_id=poll.id, option_id=option.id, voter_id=voter.id, ap_id=ap_id)
        row.voter = voter
        db.add(row)
        option.votes_count += 1
        made.append(row)
    if not before:
        poll.voters_count += 1
    await db.flush()
    if poll.local:
        # Recount from the rows: two voters at once must not lose a vote to a stale count.
        await _recount(db, poll)
    await emit(db, settings, PollVoted(actor=voter, poll=poll, votes=tuple(made)))
    return made


async def _recount(db: AsyncSession, poll: Poll) -> None:
    counts = dict(
        (
            await db.execute(
                select(PollVote.option_id, func.count(PollVote.id))
                .where(PollVote.poll_id == poll.id)
                .group_by(PollVote.option_id)
            )
        ).all()
    )
    for option in poll.options:
        option.votes_count = int(counts.get(option.id, 0))
    poll.voters_count = int(
        await db.scalar(
            select(func.count(func.distinct(PollVote.voter_id))).where(
                PollVote.poll_id == poll.id
            )
        )
        or 0
    )
    await db.flush()


def results_visible(poll: Poll) -> bool:
    """Whether the counts may be shown: live results, or the poll is closed."""
    return poll.results == "live" or poll.closed_at is not None or not poll.local


async def record_remote_poll(
    db: AsyncSession,
    author: Actor,
    *,
    ap_id: str,
    question: str,
    content_html: str,
    multiple: bool,
    options: Sequence[tuple[str, int]],
    end_time: datetime | None,
    closed: datetime | None,
    voters_count: int,
) -> Poll:
    """Keep (or refresh) our mirror of another server's poll, as its author last sent it.

    The options are replaced when their names changed (our people's votes on them go);
    otherwise only the counts are updated.
    """
    poll = await poll_by_ap_id(db, ap_id)
    if poll is not None and (poll.local or poll.author_id != author.id):
        raise Forbidden("This poll belongs to someone else.")
    if poll is None:
        poll = Poll(ap_id=ap_id, local=False, author_id=author.id, results="live")
        poll.author = author
        poll.options = []
        db.add(poll)
    poll.question = (" ".join(question.split()) or ap_id)[:MAX_QUESTION]
    poll.content_html = content_html
    poll.multiple = multiple
    poll.end_time = end_time
    poll.closed_at = closed
    poll.voters_count = max(0, voters_count)
    names = [name[:MAX_OPTION] for name, _count in options][:50]
    if names != [o.name for o in poll.options]:
        poll.options.clear()
        await db.flush()
        poll.options.extend(PollOption(position=i, name=n) for i, n in enumerate(names))
    for option, (_name, count) in zip(poll.options, options, strict=False):
        option.votes_count = max(0, int(count))
    await db.flush()
    return poll


async def polls_of_tribe(db: AsyncSession, tribe: Tribe, *, limit: int = 20) -> list[Poll]:
    """The tribe's polls that are not about an initiative, newest first."""
    rows = await db.scalars(
        select(Poll)
        .where(Poll.tribe_id == tribe.id, Poll.initiative_id.is_(None), Poll.deleted_at.is_(None))
        .order_by(Poll.created_at.desc(), Poll.id.desc())
        .limit(limit)
    )
    return list(rows.unique().all())


async def polls_of_initiative(
    db: AsyncSession, initiative: Initiative, *, limit: int = 20
) -> list[Poll]:
    """The polls about ``initiative``, newest first."""
    rows = await db.scalars(
        select(Poll)
        .where(Poll.initiative_id == initiative.id, Poll.deleted_at.is_(None))
        .order_by(Poll.created_at.desc(), Poll.id.desc())
        .limit(limit)
    )
    return list(rows.unique().all())


@dataclass(frozen=True)
class PollView:
    """What a page shows of one poll for one viewer."""

    poll: Poll
    chosen: frozenset[int]
    may_vote: bool
    may_manage: bool
    show_results: bool

    @property
    def open(self) -> bool:
        """Whether votes are still taken."""
        return self.poll.closed_at is None and (
            self.poll.end_time is None or self.poll.end_time > utcnow()
        )

    def percent(self, option: PollOption) -> int:
        """The option's share of the votes, in whole percent."""
        total = sum(o.votes_count for o in self.poll.options)
        return round(100 * option.votes_count / total) if total else 0


async def view_of(
    db: AsyncSession, settings: Settings, poll: Poll, viewer: Actor | None
) -> PollView:
    """Close the poll when due, then what ``viewer`` sees of it."""
    await ensure_closed(db, settings, poll)
    chosen = frozenset(await votes_of(db, poll, viewer))
    allowed = await may_vote(db, poll, viewer)
    is_open = poll.closed_at is None and (poll.end_time is None or poll.end_time > utcnow())
    can_choose = allowed and is_open and (poll.multiple or not chosen)
    if poll.multiple and chosen and len(chosen) >= len(poll.options):
        can_choose = False
    return PollView(
        poll=poll, chosen=chosen, may_vote=can_choose,
        may_manage=await _may_manage(db, poll, viewer),
        show_results=results_visible(poll),
    )
