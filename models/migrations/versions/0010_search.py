"""full-text search of initiatives, tribes and people; last visits (issue 11)

SQLite: one FTS5 table ``search_fts`` holds a document per initiative, tribe and person,
kept current by triggers on ``initiatives``, ``tribes`` and ``actors`` (a tribe's name lives
on its Group actor, so a change of the actor rewrites the tribe's document too). The
document's ``rowid`` encodes what it is: ``id * 4 + kind`` (1 initiative, 2 tribe,
3 person), so a trigger replaces one document by its rowid without scanning.

PostgreSQL: GIN indexes on ``to_tsvector('simple', ...)`` expressions of the same columns;
``fedi.domain.search`` queries with exactly these expressions, so the planner uses them.
Nothing to keep current: PostgreSQL updates expression indexes itself.

Both use no stemming ("simple" / unicode61): the texts are Dutch and English side by side,
and prefix matching (``bank*``) finds "bankjes" from "bank" in either language.

``last_visits``: when a person last looked at the start page ("since your last visit").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:00:00
"""

# The SQL strings below are constants built from column names; nothing typed goes in.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text of each kind of document (SQLite), from the row ``r`` (NEW in a trigger).
_INITIATIVE_TEXT = (
    "coalesce({r}.name, '') || ' ' || coalesce({r}.summary, '') || ' ' || "
    "coalesce({r}.description_source, '') || ' ' || coalesce({r}.expected_result, '') || ' ' || "
    "coalesce({r}.location, '') || ' ' || coalesce({r}.tags, '')"
)
_TRIBE_TEXT = (
    "coalesce((SELECT display_name FROM actors WHERE actors.id = {r}.actor_id), '') || ' ' || "
    "coalesce({r}.slug, '') || ' ' || coalesce({r}.theme, '') || ' ' || "
    "coalesce({r}.description_source, '') || ' ' || coalesce({r}.location, '') || ' ' || "
    "coalesce({r}.tags, '')"
)
_PERSON_TEXT = (
    "coalesce({r}.display_name, '') || ' ' || coalesce({r}.username, '') || ' ' || "
    "coalesce({r}.bio_source, '') || ' ' || coalesce({r}.location, '')"
)

# PostgreSQL: the indexed expressions (``fedi.domain.search`` repeats them verbatim).
_PG_INDEXES = {
    "ix_search_initiatives": (
        "initiatives",
        "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(summary, '') "
        "|| ' ' || coalesce(description_source, '') || ' ' || coalesce(expected_result, '') "
        "|| ' ' || coalesce(location, '') || ' ' || coalesce(tags::text, ''))",
    ),
    "ix_search_tribes": (
        "tribes",
        "to_tsvector('simple'::regconfig, coalesce(slug, '') || ' ' || coalesce(theme, '') "
        "|| ' ' || coalesce(description_source, '') || ' ' || coalesce(location, '') "
        "|| ' ' || coalesce(tags::text, ''))",
    ),
    "ix_search_actors": (
        "actors",
        "to_tsvector('simple'::regconfig, coalesce(display_name, '') || ' ' "
        "|| coalesce(username, '') || ' ' || coalesce(bio_source, '') || ' ' "
        "|| coalesce(location, ''))",
    ),
}

_SQLITE_TRIGGERS = [
    # initiatives: kind 1
    f"""CREATE TRIGGER search_initiatives_ai AFTER INSERT ON initiatives BEGIN
        INSERT INTO search_fts(rowid, body) VALUES (new.id * 4 + 1, {_INITIATIVE_TEXT.format(r='new')});
    END""",
    f"""CREATE TRIGGER search_initiatives_au AFTER UPDATE OF
        name, summary, description_source, expected_result, location, tags ON initiatives BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 1;
        INSERT INTO search_fts(rowid, body) VALUES (new.id * 4 + 1, {_INITIATIVE_TEXT.format(r='new')});
    END""",
    """CREATE TRIGGER search_initiatives_ad AFTER DELETE ON initiatives BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 1;
    END""",
    # tribes: kind 2
    f"""CREATE TRIGGER search_tribes_ai AFTER INSERT ON tribes BEGIN
        INSERT INTO search_fts(rowid, body) VALUES (new.id * 4 + 2, {_TRIBE_TEXT.format(r='new')});
    END""",
    f"""CREATE TRIGGER search_tribes_au AFTER UPDATE OF
        actor_id, slug, theme, description_source, location, tags ON tribes BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 2;
        INSERT INTO search_fts(rowid, body) VALUES (new.id * 4 + 2, {_TRIBE_TEXT.format(r='new')});
    END""",
    """CREATE TRIGGER search_tribes_ad AFTER DELETE ON tribes BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 2;
    END""",
    # people: kind 3 (Person actors, local and remote); a Group's name is its tribe's.
    f"""CREATE TRIGGER search_actors_ai AFTER INSERT ON actors WHEN new.type = 'Person' BEGIN
        INSERT INTO search_fts(rowid, body) VALUES (new.id * 4 + 3, {_PERSON_TEXT.format(r='new')});
    END""",
    f"""CREATE TRIGGER search_actors_au AFTER UPDATE OF
        type, display_name, username, bio_source, location ON actors BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 3;
        INSERT INTO search_fts(rowid, body)
            SELECT new.id * 4 + 3, {_PERSON_TEXT.format(r='new')} WHERE new.type = 'Person';
        DELETE FROM search_fts WHERE rowid IN (SELECT id * 4 + 2 FROM tribes WHERE actor_id = new.id);
        INSERT INTO search_fts(rowid, body)
            SELECT t.id * 4 + 2, {_TRIBE_TEXT.format(r='t')} FROM tribes AS t WHERE t.actor_id = new.id;
    END""",
    """CREATE TRIGGER search_actors_ad AFTER DELETE ON actors BEGIN
        DELETE FROM search_fts WHERE rowid = old.id * 4 + 3;
    END""",
]


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'last_visits',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', when, nullable=False),
        sa.Column('previous_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_last_visits_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_last_visits')),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
        # The rows that exist already (an instance upgrading, not a fresh install).
        op.execute(
            "INSERT INTO search_fts(rowid, body) SELECT id * 4 + 1, "
            f"{_INITIATIVE_TEXT.format(r='initiatives')} FROM initiatives"
        )
        op.execute(
            "INSERT INTO search_fts(rowid, body) SELECT id * 4 + 2, "
            f"{_TRIBE_TEXT.format(r='tribes')} FROM tribes"
        )
        op.execute(
            "INSERT INTO search_fts(rowid, body) SELECT id * 4 + 3, "
            f"{_PERSON_TEXT.format(r='actors')} FROM actors WHERE type = 'Person'"
        )
    else:
        for name, (table, expression) in _PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (({expression}))")


def downgrade() -> None:
    """Revert this revision."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in ("initiatives", "tribes", "actors"):
            for suffix in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        for name in _PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_table('last_visits')
