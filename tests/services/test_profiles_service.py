"""Profile rules: limits, links, languages, talents, avatars, and who is visible."""

from __future__ import annotations

from typing import Any

import pytest
from profile_helpers import get_actor, make_person, png_bytes

from fedi.domain import profiles
from fedi.domain.errors import ServiceError
from fedi.domain.media import GIF, JPEG, PNG, WEBP, detect_image_type
from models import Actor


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "display_name": "Fatima el Amrani",
        "bio": "Café aan het **Plein**.",
        "location": "Den Haag",
        "languages": ["nl", "ar"],
        "links": [("Café", "https://cafe.example/")],
        "talents": "Horeca, terrassen",
    }
    base.update(changes)
    return base


async def save(app: Any, username: str, **changes: Any) -> Actor:
    async with app.state.db.session() as db:
        from sqlalchemy import select

        actor = (await db.scalars(select(Actor).where(Actor.username == username))).one()
        await profiles.update_profile(db, app.state.settings, actor, **fields(**changes))
    return await get_actor(app, username)


async def test_update_profile_saves_everything(app: Any) -> None:
    await make_person(app, "fatima")
    actor = await save(app, "fatima")
    assert actor.display_name == "Fatima el Amrani"
    assert actor.bio_source == "Café aan het **Plein**."
    assert actor.bio_html == "<p>Café aan het <strong>Plein</strong>.</p>"
    assert actor.location == "Den Haag"
    assert actor.languages == ["nl", "ar"]
    assert actor.links == [{"label": "Café", "url": "https://cafe.example/"}]
    assert [t.tag for t in actor.talents] == ["horeca", "terrassen"]


async def test_talents_are_replaced_keeping_shared_ones(app: Any) -> None:
    await make_person(app, "fatima")
    await save(app, "fatima", talents="horeca, terrassen")
    actor = await save(app, "fatima", talents="terrassen, ondernemen, Horeca")
    assert sorted(t.tag for t in actor.talents) == ["horeca", "ondernemen", "terrassen"]
    actor = await save(app, "fatima", talents="")
    assert actor.talents == []


async def test_bio_is_sanitised(app: Any) -> None:
    await make_person(app, "fatima")
    actor = await save(app, "fatima", bio='<script>x()</script>[k](javascript:x) <b onclick="y">')
    # Raw HTML is shown as text; the javascript: link is not made a link.
    assert actor.bio_html == (
        '<p>&lt;script&gt;x()&lt;/script&gt;[k](javascript:x) &lt;b onclick="y"&gt;</p>'
    )


RULE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"display_name": "x" * 101}, "display_name"),
    ({"bio": "x" * 5001}, "bio"),
    ({"location": "x" * 101}, "location"),
    ({"languages": ["nl", "klingon"]}, "languages"),
    ({"links": [("a", "javascript:alert(1)")]}, "links"),
    ({"links": [("a", "ftp://files.example/")]}, "links"),
    ({"links": [("a", "https://")]}, "links"),
    ({"links": [("a", "https://user:pw@example.org/")]}, "links"),
    ({"links": [("a", "https://exa mple.org/")]}, "links"),
    ({"links": [("zonder adres", "")]}, "links"),
    ({"links": [(f"l{i}", f"https://e{i}.example/") for i in range(5)]}, "links"),
    ({"links": [("x" * 61, "https://example.org/")]}, "links"),
    ({"talents": "x" * 41}, "talents"),
    ({"talents": ",".join(f"t{i}" for i in range(21))}, "talents"),
]


async def test_rules_name_the_field_and_change_nothing(app: Any) -> None:
    # One person for every case: creating accounts (Argon2 hashing) is the slow part.
    await make_person(app, "fatima")
    await save(app, "fatima")
    for changes, field in RULE_CASES:
        with pytest.raises(ServiceError) as raised:
            await save(app, "fatima", **{"display_name": "Veranderd", "talents": "nieuw",
                                         **changes})
        assert raised.value.field == field, changes
        actor = await get_actor(app, "fatima")
        assert actor.display_name == "Fatima el Amrani", changes
        assert [t.tag for t in actor.talents] == ["horeca", "terrassen"], changes


async def test_limits_are_inclusive_and_whitespace_is_cleaned(app: Any) -> None:
    await make_person(app, "fatima")
    actor = await save(
        app, "fatima", display_name="  " + "n" * 100 + "\n", bio="b" * 5000,
        location="Den\tHaag ", languages=[" NL ", "nl", "pap", ""],
        links=[
            ("", "https://site.example/pad"), ("", ""), ("Twee", " http://twee.example "),
            ("", ""),
        ],
    )
    assert actor.display_name == "n" * 100
    assert actor.location == "Den Haag"
    assert actor.languages == ["nl", "pap"]
    assert actor.links == [
        {"label": "site.example", "url": "https://site.example/pad"},
        {"label": "Twee", "url": "http://twee.example"},
    ]


async def test_check_profile_fields_reports_every_problem() -> None:
    problems = profiles.check_profile_fields(
        display_name="x" * 101, bio="", location="x" * 101, languages=["xx"],
        links=[("a", "ftp://x")], talents="ok",
    )
    assert [p.field for p in problems] == ["display_name", "location", "languages", "links"]


def test_image_types_by_magic_bytes() -> None:
    assert detect_image_type(png_bytes()) is PNG
    assert detect_image_type(b"\xff\xd8\xff\xe0" + b"\x00" * 20) is JPEG
    assert detect_image_type(b"GIF89a" + b"\x00" * 20) is GIF
    assert detect_image_type(b"RIFF\x10\x00\x00\x00WEBPVP8 ") is WEBP
    assert detect_image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert detect_image_type(b"<html><script>alert(1)</script>") is None


async def test_avatar_set_replace_remove(app: Any) -> None:
    settings = app.state.settings
    await make_person(app, "fatima")
    async with app.state.db.session() as db:
        actor = await db.get(Actor, (await get_actor(app, "fatima")).id)
        assert actor is not None
        first = await profiles.set_avatar(db, settings, actor, png_bytes())
    assert first.startswith("avatars/") and first.endswith(".png")
    # Stored re-encoded (fedi/domain/image_processing.py): a PNG of the same 2x2 pixels.
    stored = (settings.uploads_dir / first).read_bytes()
    assert stored.startswith(b"\x89PNG") and stored[16:24] == png_bytes()[16:24]
    async with app.state.db.session() as db:
        actor = await db.get(Actor, actor.id)
        assert actor is not None
        # A real GIF: uploads are decoded and re-encoded (fedi/domain/image_processing.py).
        second = await profiles.set_avatar(db, settings, actor, _gif_bytes())
    assert second.endswith(".gif") and second != first
    assert not (settings.uploads_dir / first).exists(), "the replaced file is removed"
    assert (await get_actor(app, "fatima")).avatar_path == second
    async with app.state.db.session() as db:
        actor = await db.get(Actor, actor.id)
        assert actor is not None
        await profiles.remove_avatar(db, settings, actor)
        await profiles.remove_avatar(db, settings, actor)  # a second time is harmless
    assert not (settings.uploads_dir / second).exists()
    assert (await get_actor(app, "fatima")).avatar_path is None


NOT_IMAGES = [
    b"just some text, renamed to avatar.png",
    b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b"<html><script>alert(1)</script></html>",
    b"",
]


async def test_avatar_refuses_non_images_and_oversize(app: Any) -> None:
    settings = app.state.settings
    await make_person(app, "fatima")
    big = png_bytes() + b"\x00" * settings.max_avatar_bytes
    for data in [*NOT_IMAGES, big]:
        async with app.state.db.session() as db:
            actor = await db.get(Actor, (await get_actor(app, "fatima")).id)
            assert actor is not None
            with pytest.raises(ServiceError) as raised:
                await profiles.set_avatar(db, settings, actor, data)
        assert raised.value.field == "avatar"
        if data is big:
            assert "20 MB" in str(raised.value)
    avatars = settings.uploads_dir / "avatars"
    assert not avatars.exists() or not any(avatars.iterdir())
    assert (await get_actor(app, "fatima")).avatar_path is None


async def test_directory_visibility_and_filters(app: Any) -> None:
    await make_person(app, "fatima", display_name="Fatima el Amrani", talents="horeca")
    await make_person(app, "henk", display_name="Henk de Vries", talents="groen")
    await make_person(app, "joost", display_name="", talents="horeca, ontwerp")
    await make_person(app, "wachtend", approved=False, talents="horeca")
    await make_person(app, "geblokkeerd", disabled=True, talents="horeca")
    async with app.state.db.session() as db:
        assert (await profiles.find_local_person(db, "FATIMA")) is not None
        assert (await profiles.find_local_person(db, "wachtend")) is None
        assert (await profiles.find_local_person(db, "geblokkeerd")) is None
        everyone = await profiles.list_people(db)
        assert [p.username for p in everyone] == ["fatima", "henk", "joost"]
        by_talent = await profiles.list_people(db, talent="Horeca")
        assert [p.username for p in by_talent] == ["fatima", "joost"]
        assert [p.username for p in await profiles.list_people(db, q="VRIES")] == ["henk"]
        assert [p.username for p in await profiles.list_people(db, q="joo")] == ["joost"]
        assert await profiles.list_people(db, q="%") == []
        both = await profiles.list_people(db, talent="horeca", q="fat")
        assert [p.username for p in both] == ["fatima"]
        assert [p.username for p in await profiles.list_people(db, limit=1, offset=1)] == ["henk"]


def _gif_bytes() -> bytes:
    """A small, valid still GIF."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (4, 4), 1).save(out, "GIF")
    return out.getvalue()
