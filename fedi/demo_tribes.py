"""Demo tribes from the Part-up article: the square in Den Haag and care purchasing in Rotterdam.

``seed_tribes`` is a demo seed step (see ``fedi.demo``): it runs after the residents exist
and uses the tribe services, so the demo obeys the same rules as everyone else. People it
expects but cannot find in ``ctx.people`` are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fedi.domain import tribe_members, tribes

if TYPE_CHECKING:
    from fedi.demo_context import DemoContext


@dataclass(frozen=True)
class DemoTribe:
    """A demo tribe, its people and their roles."""

    slug: str
    name: str
    theme: str
    description: str
    tags: tuple[str, ...]
    location: str
    join_mode: str
    initiative_policy: str
    budget_available: str
    target_area: str
    admins: tuple[str, ...]
    moderators: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    # (username, message) of people whose request waits for the admins.
    requests: tuple[tuple[str, str], ...] = ()


DEMO_TRIBES: tuple[DemoTribe, ...] = (
    DemoTribe(
        slug="plein",
        name="Plein",
        theme="De toekomst van het plein in Den Haag",
        description=(
            "Nu bepaalt de gemeente tot op de centimeter waar de terrassen op het plein mogen "
            "staan, en worden bewoners er niet bij betrokken. Kan dat anders?\n\n"
            "In deze tribe denken **bewoners, ondernemers en ambtenaren** samen na over de "
            "toekomst van het plein: terrassen waar de zon schijnt, ruimte voor rust en groen, "
            "en een opbrengst waar de hele buurt van profiteert. De gemeente kijkt mee of de "
            "regels zo kunnen buigen dat goede ideeën ook uitgevoerd kunnen worden."
        ),
        tags=("terrassen", "plein", "burgerparticipatie", "den-haag"),
        location="Den Haag",
        join_mode="open",
        initiative_policy="members",
        budget_available="De gemeente stelt € 10.000 per jaar beschikbaar voor initiatieven.",
        target_area="Het plein en de straten eromheen",
        admins=("fatima", "sanne"),
        moderators=("henk",),
        members=("joost", "lotte", "priya"),
    ),
    DemoTribe(
        slug="zorginkoop",
        name="Zorginkoop Rotterdam",
        theme="Een plan B voor zorginkoop",
        description=(
            "De manier waarop de gemeente Rotterdam zorg inkoopt, laat weinig ruimte voor "
            "maatwerk door professionals en cliënten. Maatschappelijk aanbesteden vraagt om een "
            "ander paradigma.\n\n"
            "Maandelijks komt een groep frisse denkers van binnen en buiten de overheid bij "
            "elkaar om met gerichte initiatieven een nieuwe manier van zorginkopen dichterbij "
            "te brengen. Wil je meedoen? Vraag om lid te worden en vertel kort wat je drijft."
        ),
        tags=("zorginkoop", "aanbesteden", "maatwerk", "rotterdam"),
        location="Rotterdam",
        join_mode="approval",
        initiative_policy="members",
        budget_available="Uren van het kernteam; geld per initiatief in overleg.",
        target_area="De gemeente Rotterdam",
        admins=("ahmed",),
        moderators=("marieke",),
        members=("priya",),
        requests=(("joost", "Ik wil graag helpen om de plannen zichtbaar te maken."),),
    ),
)


async def seed_tribes(ctx: DemoContext) -> None:
    """Create the demo tribes with their admins, core team, members and a waiting request."""
    db, settings, people = ctx.db, ctx.settings, ctx.people
    for spec in DEMO_TRIBES:
        admins = [people[name] for name in spec.admins if name in people]
        if not admins:
            continue
        creator = admins[0]
        tribe = await tribes.create_tribe(
            db, settings, creator, slug=spec.slug, name=spec.name, join_mode=spec.join_mode,
            theme=spec.theme, description=spec.description, tags=list(spec.tags),
            location=spec.location, language="nl", initiative_policy=spec.initiative_policy,
            budget_available=spec.budget_available, target_area=spec.target_area,
        )
        roles = [(name, "admin") for name in spec.admins[1:]]
        roles += [(name, "moderator") for name in spec.moderators]
        roles += [(name, "member") for name in spec.members]
        for name, role in roles:
            person = people.get(name)
            if person is None:
                continue
            member = await tribe_members.join(db, settings, tribe, person)
            if member.state == "pending":
                await tribe_members.approve_request(db, settings, tribe, creator, person)
            if role != "member":
                await tribe_members.set_role(db, settings, tribe, creator, person, role)
        for name, message in spec.requests:
            person = people.get(name)
            if person is not None:
                await tribe_members.join(db, settings, tribe, person, message=message)
