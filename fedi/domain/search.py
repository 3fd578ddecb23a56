"""Finding initiatives, tribes and people: full-text search plus filters, sorted and paged.

One service for every caller (the discover page, the start page, later the Mastodon search
API). Full text runs on the database's own index (migration ``0010_search``):

* SQLite: the FTS5 table ``search_fts``, kept current by triggers; a document's ``rowid``
  is ``id * 4 + kind`` (1 initiative, 2 tribe, 3 person).
* PostgreSQL: GIN indexes on ``to_tsvector('simple', ...)`` expressions; the statements
  below repeat those expressions verbatim, or the planner would not use the indexes.

Every word typed is matched as a prefix ("bank" finds "bankjes"), all words must occur.
Visibility is the rule of ``fedi.domain.initiative_lists`` applied across tribes: public
initiatives for everyone, ``members`` ones for the tribe's members and the partners,
``private`` ones for the partners, nothing of a tribe that blocks the viewer.
"""

# The SQL strings below are constants (the indexed expressions); typed values are bound.
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    cast,
    column,
    exists,
    false,
    func,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain.initiatives import PHASES
from fedi.domain.talents import normalise_talent
from fedi.domain.tribe_access import actor_domain
from models import (
    Actor,
    ActorTalent,
    Contribution,
    Follow,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    InitiativeUpdate,
    Task,
    Tribe,
    TribeBlock,
    TribeEvent,
    TribeMember,
    User,
)

KINDS = ("initiatives", "tribes", "people")
SORTS = ("new", "active", "popular")
ORIGINS = ("", "local", "remote")
PER_PAGE = 20
MAX_PAGE = 1000
MAX_WORDS = 8
_KIND_CODE = {"initiatives": 1, "tribes": 2, "people": 3}
# Letters and digits; everything else separates words (and can never break the query syntax
# of FTS5 or tsquery, which both have operators made of punctuation).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# PostgreSQL: the indexed expressions of migration 0010, verbatim (unqualified columns: each
# is used in a subquery over its own table only).
_PG_INITIATIVE_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(summary, '') "
    "|| ' ' || coalesce(description_source, '') || ' ' || coalesce(expected_result, '') "
    "|| ' ' || coalesce(location, '') || ' ' || coalesce(tags::text, ''))"
)
_PG_TRIBE_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(slug, '') || ' ' || coalesce(theme, '') "
    "|| ' ' || coalesce(description_source, '') || ' ' || coalesce(location, '') "
    "|| ' ' || coalesce(tags::text, ''))"
)
_PG_ACTOR_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(display_name, '') || ' ' "
    "|| coalesce(username, '') || ' ' || coalesce(bio_source, '') || ' ' "
    "|| coalesce(location, ''))"
)
_PG_QUERY = "to_tsquery('simple'::regconfig, :tsq)"
PG_MATCHES = {
    "initiatives": f"SELECT id FROM initiatives WHERE {_PG_INITIATIVE_VECTOR} @@ {_PG_QUERY}",
    "tribes": (
        f"SELECT id FROM tribes WHERE {_PG_TRIBE_VECTOR} @@ {_PG_QUERY} "
        "UNION SELECT id FROM tribes WHERE actor_id IN "
        f"(SELECT id FROM actors WHERE {_PG_ACTOR_VECTOR} @@ {_PG_QUERY})"
    ),
    "people": f"SELECT id FROM actors WHERE {_PG_ACTOR_VECTOR} @@ {_PG_QUERY}",
}


@dataclass(frozen=True)
class SearchQuery:
    """What to look for. Empty strings mean "any".

    ``origin``: "" (everything known here), ``local`` or ``remote``. ``tag``: an initiative's
    or tribe's tag, a person's talent. ``talent``: initiatives whose tags or open tasks need
    it, tribes with a member who has it, people who have it. ``phase`` only narrows
    initiatives; ``language`` is the tribe's language (for initiatives: their tribe's), a
    person's languages.
    """

    kind: str = "initiatives"
    text: str = ""
    tag: str = ""
    talent: str = ""
    place: str = ""
    phase: str = ""
    language: str = ""
    origin: str = ""
    sort: str = "new"
    page: int = 1
    per_page: int = PER_PAGE

    def cleaned(self) -> SearchQuery:
        """The same query with every value trimmed to what the service understands."""
        return replace(
            self,
            kind=self.kind if self.kind in KINDS else "initiatives",
            text=" ".join(self.text.split())[:200],
            tag=normalise_talent(self.tag)[:64],
            talent=normalise_talent(self.talent)[:64],
            place=" ".join(self.place.split())[:100],
            phase=self.phase if self.phase in PHASES else "",
            language=self.language.strip().lower()[:16],
            origin=self.origin if self.origin in ORIGINS else "",
            sort=self.sort if self.sort in SORTS else "new",
            page=max(1, min(self.page, MAX_PAGE)),
            per_page=max(1, min(self.per_page, 100)),
        )


@dataclass
class SearchResults:
    """One page of results and how many there are in all."""

    query: SearchQuery
    items: list[Any] = field(default_factory=list)
    total: int = 0

    @property
    def pages(self) -> int:
        """How many pages the results fill (at least 1)."""
        return max(1, -(-self.total // self.query.per_page))

    @property
    def has_previous(self) -> bool:
        """Whether a page before this one exists."""
        return self.query.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page after this one exists."""
        return self.query.page < self.pages


def words_of(typed: str) -> list[str]:
    """The words of a search text, lower case, at most ``MAX_WORDS``."""
    return [word.lower() for word in _WORD.findall(typed)][:MAX_WORDS]


def _text_matches(db: AsyncSession, kind: str, words: list[str]) -> Any:
    """A statement of one ``id`` column: the rows of ``kind`` whose text has every word
    (as a prefix), from the full-text index of the database in use."""
    id_column = column("id", Integer)
    if db.get_bind().dialect.name == "sqlite":
        fts = " ".join(f'"{word}"*' for word in words)
        return text(
            "SELECT rowid / 4 AS id FROM search_fts "
            "WHERE search_fts MATCH :fts AND rowid % 4 = :code"
        ).bindparams(fts=fts, code=_KIND_CODE[kind]).columns(id_column)
    tsq = " & ".join(f"{word}:*" for word in words)
    return text(PG_MATCHES[kind]).bindparams(tsq=tsq).columns(id_column)


def json_list_has(json_column: Any, value: str) -> ColumnElement[bool]:
    """Whether a JSON list column holds the string ``value``: a text match on its stored
    JSON (``["a","b"]``), the same on SQLite and PostgreSQL, and pageable in SQL."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    escaped = escaped.replace('"', '\\\\"')
    return cast(json_column, Text).like(f'%"{escaped}"%', escape="\\")


def _contains(column_: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive "contains" (for places)."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column_).like(f"%{escaped}%", escape="\\")


# ------------------------------------------------------------------ visibility


def visible_initiatives(viewer: Actor | None) -> ColumnElement[bool]:
    """The SQL condition "``viewer`` (None: anonymous) may see this initiative", across all
    tribes: the rules of ``initiative_lists.visible_condition``, with membership and blocks
    looked up per tribe in SQL."""
    alive = Initiative.deleted_at.is_(None)
    if viewer is None:
        return and_(alive, Initiative.visibility == "public")
    domain = actor_domain(viewer)
    blocked_in = select(TribeBlock.tribe_id).where(
        or_(
            TribeBlock.actor_ap_id == viewer.ap_id,
            TribeBlock.domain.in_({domain, domain.rsplit(":", 1)[0]}),
        )
    )
    partner_of = select(InitiativePartner.initiative_id).where(
        InitiativePartner.actor_id == viewer.id, InitiativePartner.state == "active"
    )
    member_of: Any = select(TribeMember.tribe_id).where(
        TribeMember.actor_id == viewer.id, TribeMember.state == "active"
    )
    if viewer.local:
        # A local person joined a tribe on another server by following its Group.
        member_of = union(
            member_of,
            select(Tribe.id)
            .join(Follow, Follow.followed_id == Tribe.actor_id)
            .join(Actor, Actor.id == Tribe.actor_id)
            .where(
                Follow.follower_id == viewer.id,
                Follow.accepted.is_(True),
                Actor.local.is_(False),
            ),
        )
    return and_(
        alive,
        Initiative.tribe_id.not_in(blocked_in),
        or_(
            Initiative.visibility == "public",
            Initiative.id.in_(partner_of),
            and_(Initiative.visibility == "members", Initiative.tribe_id.in_(member_of)),
        ),
    )


def visible_people() -> ColumnElement[bool]:
    """People the site shows: local ones with an approved, enabled account, and remote
    people we know who are not gone or suspended; only those who let themselves be found."""
    approved = exists().where(
        User.actor_id == Actor.id, User.approved.is_(True), User.disabled.is_(False)
    )
    return and_(
        Actor.type == "Person",
        Actor.gone_at.is_(None),
        # Suspended here or by their own server: hidden while it lasts, as Mastodon does.
        Actor.suspended_at.is_(None),
        Actor.discoverable.is_(True),
        or_(Actor.local.is_(False), approved),
    )


# ------------------------------------------------------------------ the three kinds


def _initiative_statement(
    db: AsyncSession, query: SearchQuery, viewer: Actor | None
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = [visible_initiatives(viewer)]
    words = words_of(query.text)
    if words:
        conditions.append(Initiative.id.in_(_text_matches(db, "initiatives", words)))
    if query.tag:
        conditions.append(json_list_has(Initiative.tags, query.tag))
    if query.talent:
        open_task_needs = exists().where(
            Task.initiative_id == Initiative.id,
            Task.completed_at.is_(None),
            json_list_has(Task.tags, query.talent),
        )
        conditions.append(or_(json_list_has(Initiative.tags, query.talent), open_task_needs))
    if query.place:
        conditions.append(
            or_(_contains(Initiative.location, query.place), _contains(Tribe.location, query.place))
        )
    if query.phase:
        conditions.append(Initiative.phase == query.phase)
    if query.language:
        conditions.append(Tribe.language == query.language)
    if query.origin:
        conditions.append(Initiative.local.is_(query.origin == "local"))
    return select(Initiative).join(Tribe, Tribe.id == Initiative.tribe_id).where(*conditions)


def _initiative_order(query: SearchQuery) -> list[Any]:
    if query.sort == "active":
        last = (
            select(func.max(InitiativeUpdate.created_at))
            .where(InitiativeUpdate.initiative_id == Initiative.id)
            .scalar_subquery()
        )
        return [func.coalesce(last, Initiative.created_at).desc(), Initiative.id.desc()]
    if query.sort == "popular":
        supporters = (
            select(func.count(InitiativeSupporter.id))
            .where(InitiativeSupporter.initiative_id == Initiative.id)
            .scalar_subquery()
        )
        partners = (
            select(func.count(InitiativePartner.id))
            .where(
                InitiativePartner.initiative_id == Initiative.id,
                InitiativePartner.state == "active",
            )
            .scalar_subquery()
        )
        return [(supporters + partners).desc(), Initiative.created_at.desc(), Initiative.id.desc()]
    return [Initiative.created_at.desc(), Initiative.id.desc()]


def _tribe_statement(db: AsyncSession, query: SearchQuery) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    words = words_of(query.text)
    if words:
        conditions.append(Tribe.id.in_(_text_matches(db, "tribes", words)))
    if query.tag:
        conditions.append(json_list_has(Tribe.tags, query.tag))
    if query.talent:
        conditions.append(
            exists().where(
                TribeMember.tribe_id == Tribe.id,
                TribeMember.state == "active",
                ActorTalent.actor_id == TribeMember.actor_id,
                ActorTalent.tag == query.talent,
            )
        )
    if query.place:
        conditions.append(
            or_(_contains(Tribe.location, query.place), _contains(Tribe.target_area, query.place))
        )
    if query.phase:
        # Tribes have no phase: those with an initiative in it (that anyone may see).
        conditions.append(
            exists().where(
                Initiative.tribe_id == Tribe.id,
                Initiative.phase == query.phase,
                visible_initiatives(None),
            )
        )
    if query.language:
        conditions.append(Tribe.language == query.language)
    if query.origin:
        conditions.append(Actor.local.is_(query.origin == "local"))
    return select(Tribe).join(Actor, Actor.id == Tribe.actor_id).where(*conditions)


def _tribe_order(query: SearchQuery) -> list[Any]:
    if query.sort == "active":
        last_event = (
            select(func.max(TribeEvent.created_at))
            .where(TribeEvent.tribe_id == Tribe.id)
            .scalar_subquery()
        )
        last_update = (
            select(func.max(InitiativeUpdate.created_at))
            .join(Initiative, Initiative.id == InitiativeUpdate.initiative_id)
            .where(Initiative.tribe_id == Tribe.id, visible_initiatives(None))
            .scalar_subquery()
        )
        return [
            func.coalesce(last_update, last_event, Tribe.created_at).desc(),
            Tribe.id.desc(),
        ]
    if query.sort == "popular":
        members = (
            select(func.count(TribeMember.id))
            .where(TribeMember.tribe_id == Tribe.id, TribeMember.state == "active")
            .scalar_subquery()
        )
        return [members.desc(), Tribe.created_at.desc(), Tribe.id.desc()]
    return [Tribe.created_at.desc(), Tribe.id.desc()]


def _people_statement(db: AsyncSession, query: SearchQuery) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = [visible_people()]
    words = words_of(query.text)
    if words:
        conditions.append(Actor.id.in_(_text_matches(db, "people", words)))
    for talent in {query.tag, query.talent} - {""}:
        conditions.append(
            exists().where(ActorTalent.actor_id == Actor.id, ActorTalent.tag == talent)
        )
    if query.place:
        conditions.append(_contains(Actor.location, query.place))
    if query.phase:
        conditions.append(false())  # people have no phase
    if query.language:
        conditions.append(json_list_has(Actor.languages, query.language))
    if query.origin:
        conditions.append(Actor.local.is_(query.origin == "local"))
    return select(Actor).where(*conditions)


def _people_order(query: SearchQuery) -> list[Any]:
    if query.sort == "active":
        last = (
            select(func.max(Contribution.created_at))
            .where(Contribution.actor_id == Actor.id)
            .scalar_subquery()
        )
        return [func.coalesce(last, Actor.created_at).desc(), Actor.id.desc()]
    if query.sort == "popular":
        followers = (
            select(func.count(Follow.id))
            .where(Follow.followed_id == Actor.id, Follow.accepted.is_(True))
            .scalar_subquery()
        )
        return [followers.desc(), Actor.created_at.desc(), Actor.id.desc()]
    return [Actor.created_at.desc(), Actor.id.desc()]


async def search(
    db: AsyncSession, query: SearchQuery, viewer: Actor | None = None
) -> SearchResults:
    """One page of what ``query`` finds that ``viewer`` (None: anonymous) may see."""
    query = query.cleaned()
    entity: Any
    if query.kind == "tribes":
        statement, order, entity = _tribe_statement(db, query), _tribe_order(query), Tribe
    elif query.kind == "people":
        statement, order, entity = _people_statement(db, query), _people_order(query), Actor
    else:
        statement = _initiative_statement(db, query, viewer)
        order, entity = _initiative_order(query), Initiative
    total = await db.scalar(
        select(func.count()).select_from(statement.with_only_columns(entity.id).subquery())
    )
    # Result cards of initiatives and tribes show no talents: skip loading them.
    if entity is Initiative:
        statement = statement.options(
            defaultload(Initiative.tribe).defaultload(Tribe.actor).lazyload(Actor.talents),
            defaultload(Initiative.creator).lazyload(Actor.talents),
        )
    elif entity is Tribe:
        statement = statement.options(defaultload(Tribe.actor).lazyload(Actor.talents))
    rows = await db.scalars(
        statement.order_by(*order)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    )
    return SearchResults(query, list(rows.unique().all()), int(total or 0))
