"""The search service on SQLite (FTS5) and PostgreSQL (tsvector): text, filters, sorting,
paging and visibility, including rows written after the index exists."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import text

from fedi.domain import initiative_people, initiatives, tribes
from fedi.domain.initiative_access import get_initiative
from fedi.domain.search import PG_MATCHES, SearchQuery, search, words_of
from fedi.domain.talents import set_talents
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named


async def _find(app: FediApp, viewer: str | None = None, **query: object) -> list[str]:
    async with app.state.db.session() as db:
        person = await actor_named(db, viewer) if viewer else None
        found = await search(db, SearchQuery(**query), person)  # type: ignore[arg-type]
    return [getattr(item, "name", None) or item.username for item in found.items]


def test_words_are_letters_and_digits_only() -> None:
    assert words_of('Bank"jes * OR timmeren -x_y') == ["bank", "jes", "or", "timmeren", "x", "y"]
    assert words_of("   ") == []


async def test_text_finds_initiatives_added_and_changed_after_the_index(app: FediApp) -> None:
    world = await make_world(app)
    bench = await make_initiative(
        app, world, name="Bankjes timmeren", summary="Houten bankjes voor het plein",
        tags=["hout"], location="Zwolle",
    )
    await make_initiative(app, world, name="Moestuin", summary="Groenten kweken")
    assert await _find(app, text="bank") == ["Bankjes timmeren"]
    assert await _find(app, text="HOUTEN plein") == ["Bankjes timmeren"]
    assert await _find(app, text="groenten") == ["Moestuin"]
    assert await _find(app, text="fietsen") == []
    # An edit is searchable at once, and the old words are gone.
    async with app.state.db.session() as db:
        item = await get_initiative(db, bench.id)
        await initiatives.update_initiative(
            db, app.state.settings, item, await actor_named(db, "ann"),
            name="Picknicktafels", summary="Tafels bouwen",
        )
    assert await _find(app, text="picknick") == ["Picknicktafels"]
    assert await _find(app, text="timmeren") == []
    # Deleted initiatives are not found.
    async with app.state.db.session() as db:
        item = await get_initiative(db, bench.id)
        ann = await actor_named(db, "ann")
        await initiatives.delete_initiative(db, app.state.settings, item, ann)
    assert await _find(app, text="picknick") == []


async def test_tribes_are_found_by_name_and_theme_and_renames(app: FediApp) -> None:
    world = await make_world(app, theme="De toekomst van het stadsplein", location="Deventer")
    assert await _find(app, kind="tribes", text="stadsplein") == [world.tribe.name]
    assert await _find(app, kind="tribes", text=world.tribe.name) == [world.tribe.name]
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        tribe.actor.display_name = "Marktplein Collectief"
    assert await _find(app, kind="tribes", text="collectief") == ["Marktplein Collectief"]
    assert await _find(app, kind="tribes", place="deventer") == ["Marktplein Collectief"]


async def test_people_by_text_talent_and_origin(app: FediApp) -> None:
    await make_world(app)
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        ann.display_name = "Anneke Timmerman"
        ann.bio_source = "Ik bouw graag met hout"
        await set_talents(db, ann, ["timmeren"])
        rik = await actor_named(db, "rik", "remote.example")
        rik.display_name = "Rik de Timmerman"
    both = ["Rik de Timmerman", "Anneke Timmerman"]  # newest first
    assert await _find(app, kind="people", text="timmerman") == both
    assert await _find(app, kind="people", text="hout") == ["Anneke Timmerman"]
    assert await _find(app, kind="people", talent="Timmeren") == ["Anneke Timmerman"]
    remote = await _find(app, kind="people", text="timmerman", origin="remote")
    assert remote == ["Rik de Timmerman"]


async def test_filters_sorting_and_paging(app: FediApp) -> None:
    world = await make_world(app, language="nl")
    first = await make_initiative(app, world, name="Eerste", tags=["groen"], phase="idea")
    await make_initiative(app, world, name="Tweede", phase="plan")
    third = await make_initiative(app, world, name="Derde", phase="plan")
    await make_task(app, third, name="Zagen", tags=["timmeren"])
    assert await _find(app) == ["Derde", "Tweede", "Eerste"]
    assert await _find(app, tag="groen") == ["Eerste"]
    assert await _find(app, phase="plan") == ["Derde", "Tweede"]
    assert await _find(app, talent="timmeren") == ["Derde"]
    assert await _find(app, language="nl") == ["Derde", "Tweede", "Eerste"]
    assert await _find(app, language="en") == []
    # Popular: the one with most supporters and partners first.
    async with app.state.db.session() as db:
        item = await get_initiative(db, first.id)
        await initiative_people.support(db, app.state.settings, item, await actor_named(db, "bob"))
    assert (await _find(app, sort="popular"))[0] == "Eerste"
    async with app.state.db.session() as db:
        page = await search(db, SearchQuery(per_page=2, page=2))
        assert [item.name for item in page.items] == ["Eerste"]
        assert (page.total, page.pages, page.has_next, page.has_previous) == (3, 2, False, True)


async def test_visibility_follows_the_initiative_rules(app: FediApp) -> None:
    world = await make_world(app)
    await make_initiative(app, world, name="Openbaar plan")
    await make_initiative(app, world, name="Plan voor leden", visibility="members")
    await make_initiative(app, world, name="Geheim plan", visibility="private")
    assert await _find(app, text="plan") == ["Openbaar plan"]
    assert await _find(app, "cas", text="plan") == ["Openbaar plan"]
    assert sorted(await _find(app, "bob", text="plan")) == ["Openbaar plan", "Plan voor leden"]
    everything = ["Geheim plan", "Openbaar plan", "Plan voor leden"]
    assert sorted(await _find(app, "ann", text="plan")) == everything


async def test_the_database_uses_its_full_text_index(app: FediApp) -> None:
    async with app.state.db.session() as db:
        if db.get_bind().dialect.name == "sqlite":
            found = await db.scalar(text(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE 'search_%' AND type = 'trigger'"
            ))
            assert found == 9
        else:
            found_names = await db.scalars(
                text(
                    "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_search_%' "
                    "AND schemaname = current_schema()"
                )
            )
            names = set(found_names.all())
            assert names == {"ix_search_initiatives", "ix_search_tribes", "ix_search_actors"}
            # The service's statements repeat the indexed expressions exactly, so PostgreSQL
            # can answer them from the indexes (shown with sequential scans ruled out, as a
            # near-empty table would otherwise be read whole).
            await db.execute(text("SET LOCAL enable_seqscan = off"))
            for kind, index in (
                ("initiatives", "ix_search_initiatives"), ("tribes", "ix_search_tribes"),
                ("people", "ix_search_actors"),
            ):
                plan = await db.scalars(text("EXPLAIN " + PG_MATCHES[kind]), {"tsq": "bank:*"})
                assert index in "\n".join(plan.all()), kind


def _rerun_search_migration(connection: Any) -> None:
    """Revert and apply migration 0010 again on a database that holds rows: what an
    instance upgrading to it goes through (its rows must be found at once)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    module = importlib.import_module("models.migrations.versions.0010_search")
    context = MigrationContext.configure(connection)
    with Operations.context(context):
        module.downgrade()
        module.upgrade()


async def test_an_upgraded_instance_finds_its_existing_rows(app: FediApp) -> None:
    world = await make_world(app, theme="Stadsplein")
    await make_initiative(app, world, name="Bankjes timmeren")
    async with app.state.db.engine.begin() as connection:
        await connection.run_sync(_rerun_search_migration)
    assert await _find(app, text="bankjes") == ["Bankjes timmeren"]
    assert await _find(app, kind="tribes", text="stadsplein") == [world.tribe.name]
    assert await _find(app, kind="people", text="ann") == ["ann"]
    # And the index is kept current afterwards too.
    await make_initiative(app, world, name="Moestuin")
    assert await _find(app, text="moestuin") == ["Moestuin"]
