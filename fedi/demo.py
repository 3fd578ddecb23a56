"""Demo content for a fresh instance (``FEDI_DEMO=1``): an admin and residents with profiles.

The residents come from the examples in the Part-up article on civic participation: the
future of a square in Den Haag, health care purchasing in Rotterdam, a care-innovation island
(Goeree-Overflakkee), and ministries working with outside stakeholders.

Seeding runs only on an empty database (no users at all), so restarting with the flag set
never adds anything twice. Later issues add their own step (tribes, initiatives...) by
appending an ``async def seed_x(ctx: DemoContext) -> None`` to ``DEMO_SEEDS``; the steps run
in order, in one transaction, and can find the people created before them in ``ctx.people``.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from fedi.demo_context import DemoContext
from fedi.demo_initiatives import seed_initiatives
from fedi.demo_tribes import seed_tribes
from fedi.domain.accounts import create_user
from fedi.domain.profiles import update_profile
from fedi.state import AppState
from models import User

ADMIN_USERNAME = "beheer"
# Two residents whose login is printed too, so a newcomer can try the instance as a resident
# and as a tribe's admin (Fatima runs the "Plein" tribe; Lotte is one of its members). The
# other residents keep random passwords nobody sees.
DEMO_RESIDENT = "lotte"
DEMO_TRIBE_ADMIN = "fatima"
DEMO_TRIBE_NAME = "Plein"
ROLES = {
    ADMIN_USERNAME: "the instance's admin",
    DEMO_RESIDENT: "a resident",
    DEMO_TRIBE_ADMIN: f"a tribe admin ({DEMO_TRIBE_NAME})",
}


@dataclass(frozen=True)
class DemoPerson:
    """A demo resident: account name and a filled-in profile."""

    username: str
    display_name: str
    location: str
    bio: str
    talents: tuple[str, ...]
    languages: tuple[str, ...] = ("nl",)
    links: tuple[tuple[str, str], ...] = ()


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(
        username="fatima",
        display_name="Fatima el Amrani",
        location="Den Haag",
        bio=(
            "Ik heb een café aan het Plein in Den Haag. Nu bepaalt de gemeente precies waar "
            "mijn stoeltjes mogen staan; ik denk liever samen met de buren na over een terras "
            "waar iedereen iets aan heeft: zon, gezelligheid en een opbrengst voor de buurt."
        ),
        talents=("horeca", "terrassen", "ondernemen", "buurtcontact"),
        languages=("nl", "ar", "fr"),
    ),
    DemoPerson(
        username="henk",
        display_name="Henk de Vries",
        location="Den Haag",
        bio=(
            "Bewoner van het Plein sinds 1998. Ik wil graag meedenken over de toekomst van "
            "het plein: ruimte voor terrassen, maar ook voor rust en groen."
        ),
        talents=("buurtcontact", "groen", "bewonersoverleg"),
    ),
    DemoPerson(
        username="sanne",
        display_name="Sanne Bakker",
        location="Den Haag",
        bio=(
            "Beleidsmedewerker burgerparticipatie bij de gemeente Den Haag. Ik werk aan de "
            "pilot waarin bewoners, ondernemers en ambtenaren samen over het plein beslissen."
        ),
        talents=("burgerparticipatie", "regelgeving", "beleid"),
        languages=("nl", "en"),
    ),
    DemoPerson(
        username="ahmed",
        display_name="Ahmed Yilmaz",
        location="Rotterdam",
        bio=(
            "Ambtenaar bij de gemeente Rotterdam. Ik werk aan **zorginkoop** en zoek samen met "
            "zorgprofessionals en cliënten naar een plan B: meer ruimte voor maatwerk, "
            "maatschappelijk aanbesteden."
        ),
        talents=("zorginkoop", "aanbesteden", "maatwerk"),
        languages=("nl", "tr", "en"),
    ),
    DemoPerson(
        username="marieke",
        display_name="Marieke Visser",
        location="Goeree-Overflakkee",
        bio=(
            "Huisarts op Goeree-Overflakkee. Samen met inwoners, bedrijven en zorgorganisaties "
            "werken we eraan om een echt zorginnovatie-eiland te worden."
        ),
        talents=("huisartsenzorg", "eerstelijnszorg", "zorginnovatie"),
        links=(("Paulina", "https://paulina.nu"),),
    ),
    DemoPerson(
        username="joost",
        display_name="Joost Jansen",
        location="Utrecht",
        bio=(
            "Ontwerper. Ik maak participatie zichtbaar: van schetsen voor een plein tot "
            "posters voor een buurtavond."
        ),
        talents=("ontwerp", "participatie", "visualisatie"),
        languages=("nl", "en", "de"),
    ),
    DemoPerson(
        username="lotte",
        display_name="Lotte van Dijk",
        location="Den Haag",
        bio=(
            "Data-analist bij het ministerie van Financiën. In onze tribe denken interne "
            "collega's en externe stakeholders na over vragen als: wat betekent de komst van "
            "bitcoin?"
        ),
        talents=("data-analyse", "bitcoin", "financiën"),
        languages=("nl", "en"),
    ),
    DemoPerson(
        username="priya",
        display_name="Priya Ramdin",
        location="Den Haag",
        bio=(
            "Adviseur bij het ministerie van VWS. We tackelen samen met het veld de issues die "
            "door ons beleid ontstaan."
        ),
        talents=("zorgbeleid", "stakeholdermanagement", "facilitatie"),
        languages=("nl", "en", "srn"),
    ),
)


async def seed_admin(ctx: DemoContext) -> None:
    """The admin account ``beheer`` with a random password (printed once)."""
    password = secrets.token_urlsafe(18)
    user = await create_user(
        ctx.db, ctx.settings, username=ADMIN_USERNAME, email=f"{ADMIN_USERNAME}@example.org",
        password=password, is_admin=True, display_name="Beheer",
    )
    await update_profile(
        ctx.db, ctx.settings, user.actor, display_name="Beheer",
        bio="Het beheer van deze server. Vragen? Stuur een bericht.",
        location="", languages=["nl", "en"], links=[], talents=["beheer"],
    )
    ctx.people[ADMIN_USERNAME] = user.actor
    ctx.credentials.append((ADMIN_USERNAME, password))


async def seed_residents(ctx: DemoContext) -> None:
    """The residents from the article, with profiles and talents (random passwords; only
    those of :data:`DEMO_RESIDENT` and :data:`DEMO_TRIBE_ADMIN` are printed)."""
    shown = secrets.token_urlsafe(12)
    for person in DEMO_PEOPLE:
        printed = person.username in (DEMO_RESIDENT, DEMO_TRIBE_ADMIN)
        password = shown if printed else secrets.token_urlsafe(24)
        user = await create_user(
            ctx.db, ctx.settings, username=person.username,
            email=f"{person.username}@example.org", password=password,
            display_name=person.display_name,
        )
        if printed:
            ctx.credentials.append((person.username, password))
        await update_profile(
            ctx.db, ctx.settings, user.actor, display_name=person.display_name, bio=person.bio,
            location=person.location, languages=list(person.languages),
            links=list(person.links), talents=list(person.talents),
        )
        ctx.people[person.username] = user.actor


SeedStep = Callable[[DemoContext], Awaitable[Any]]
# Later issues append their steps here (tribes, initiatives, tasks...).
DEMO_SEEDS: list[SeedStep] = [seed_admin, seed_residents, seed_tribes, seed_initiatives]


def print_credentials(credentials: list[tuple[str, str]], base_url: str) -> None:
    """Show the demo logins once (the admin, a resident, a tribe admin), framed so they
    stand out in the server log."""
    if not credentials:
        return
    line = "=" * 72
    lines = [line, "  Demo content created. Log in at " + base_url + "/login as:"]
    for name, password in credentials:
        role = ROLES.get(name, "")
        lines.append(f"    {role + ':':<28} name: {name}    password: {password}")
    lines += [
        "  A resident joins tribes, offers help and comments; a tribe admin also accepts",
        "  members and offers. Other demo residents cannot log in (their passwords are",
        "  random). These passwords are shown only once; change them after logging in.",
        line,
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


async def seed_demo(state: AppState) -> None:
    """Fill an empty database with demo people; does nothing when any user exists."""
    async with state.db.session() as db:
        if await db.scalar(select(func.count(User.id))):
            return
        ctx = DemoContext(db=db, settings=state.settings)
        for step in DEMO_SEEDS:
            await step(ctx)
    print_credentials(ctx.credentials, state.settings.base_url)
