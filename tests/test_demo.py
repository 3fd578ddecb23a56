"""Demo seeding: an admin with a printed password and residents, only on an empty database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from fedi.demo import ADMIN_USERNAME, DEMO_PEOPLE, DEMO_RESIDENT, DEMO_TRIBE_ADMIN, seed_demo
from fedi.domain.accounts import authenticate
from fedi.domain.talents import people_with_talent
from models import Actor, User


async def test_seed_demo_once(app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    state = app.state
    await seed_demo(state)
    printed = capsys.readouterr()
    assert printed.out == ""
    match = re.search(r"name: beheer\s+password: (\S+)", printed.err)
    assert match, printed.err
    password = match.group(1)
    assert "=" * 20 in printed.err

    async with state.db.session() as db:
        admin = await authenticate(db, ADMIN_USERNAME, password)
        assert admin.is_admin
        count = await db.scalar(select(func.count(User.id)))
        assert count == 1 + len(DEMO_PEOPLE)
        doctors = await people_with_talent(db, "huisartsenzorg")
        assert [a.location for a in doctors] == ["Goeree-Overflakkee"]
        cafe = await db.scalar(select(Actor).where(Actor.username == "fatima"))
        assert cafe is not None and "Plein" in cafe.bio_html
        assert sorted(t.tag for t in cafe.talents) == [
            "buurtcontact", "horeca", "ondernemen", "terrassen",
        ]
        assert not await db.scalar(select(func.count(User.id)).where(User.approved.is_(False)))
        # The admin's, a resident's and a tribe admin's logins are printed and work; the
        # other residents' passwords are never shown.
        for name in (DEMO_RESIDENT, DEMO_TRIBE_ADMIN):
            found = re.search(rf"name: {name}\s+password: (\S+)", printed.err)
            assert found, printed.err
            assert (await authenticate(db, name, found.group(1))).actor.username == name
        assert "a tribe admin (Plein)" in printed.err and "a resident" in printed.err
        for person in DEMO_PEOPLE:
            if person.username not in (DEMO_RESIDENT, DEMO_TRIBE_ADMIN):
                assert person.username not in printed.err

    await seed_demo(state)
    assert capsys.readouterr().err == ""
    async with state.db.session() as db:
        assert await db.scalar(select(func.count(User.id))) == 1 + len(DEMO_PEOPLE)
        people = select(func.count(Actor.id)).where(Actor.type == "Person")
        assert await db.scalar(people) == 1 + len(DEMO_PEOPLE)


async def test_seed_demo_leaves_a_used_instance_alone(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from profile_helpers import make_person

    await make_person(app, "iemand")
    await seed_demo(app.state)
    assert capsys.readouterr().err == ""
    async with app.state.db.session() as db:
        assert await db.scalar(select(func.count(User.id))) == 1
