"""Talents: normalising free tags, suggestions by use, and finding people by talent."""

from __future__ import annotations

from typing import Any

import pytest
from profile_helpers import make_person

from fedi.domain.errors import ServiceError
from fedi.domain.talents import (
    MAX_TALENTS,
    normalise_talent,
    parse_talents,
    people_with_talent,
    suggest_talents,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Horeca ", "horeca"),
        ("Zorg   Innovatie", "zorg innovatie"),
        ("#Terrassen", "terrassen"),
        ("EERSTELIJNSZORG", "eerstelijnszorg"),
        ("a\tb\nc", "a b c"),
        ("<b>ontwerp</b>", "b ontwerp /b"),
        ("", ""),
    ],
)
def test_normalise_talent(raw: str, expected: str) -> None:
    assert normalise_talent(raw) == expected


def test_parse_talents_trims_dedupes_and_drops_empties() -> None:
    assert parse_talents(" Horeca, terrassen,,horeca , ONDERNEMEN ,") == [
        "horeca", "terrassen", "ondernemen",
    ]
    assert parse_talents(["Ontwerp", "ontwerp", " participatie"]) == ["ontwerp", "participatie"]


def test_parse_talents_limits() -> None:
    assert parse_talents("x" * 40) == ["x" * 40]
    with pytest.raises(ServiceError) as too_long:
        parse_talents("x" * 41)
    assert too_long.value.field == "talents"
    many = ", ".join(f"talent{i}" for i in range(MAX_TALENTS))
    assert len(parse_talents(many)) == MAX_TALENTS
    with pytest.raises(ServiceError) as too_many:
        parse_talents(many + ", nog een")
    assert too_many.value.field == "talents"


async def test_suggestions_and_people_with_talent(app: Any) -> None:
    # One set of people for both questions: creating accounts (Argon2) is the slow part.
    await make_person(app, "fatima", display_name="Fatima", talents="horeca, terrassen, ondernemen")
    await make_person(app, "bert", display_name="Bert", talents="Horeca, terrassen")
    await make_person(app, "joost", display_name="Joost", talents="horeca, ontwerp")
    await make_person(app, "wachter", approved=False, talents="ontwerp, ontwerp2, horeca")
    async with app.state.db.session() as db:
        assert await suggest_talents(db) == ["horeca", "terrassen", "ondernemen", "ontwerp"]
        assert await suggest_talents(db, prefix="ON") == ["ondernemen", "ontwerp"]
        assert await suggest_talents(db, limit=1) == ["horeca"]
        # LIKE wildcards in the prefix are taken literally.
        assert await suggest_talents(db, prefix="%") == []
        found = await people_with_talent(db, " HORECA ")
        assert [person.username for person in found] == ["bert", "fatima", "joost"]
        assert await people_with_talent(db, "") == []
        assert await people_with_talent(db, "onbekend") == []
