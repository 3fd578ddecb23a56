"""Demo initiatives from the Part-up article: terraces on the square in Den Haag, and a plan B
for care purchasing in Rotterdam, with tasks, offers, partners, supporters and conversation.

``seed_initiatives`` is a demo seed step (see ``fedi.demo``) that runs after the tribes
exist. It uses the initiative services, so the demo obeys the same rules as everyone
else; tribes or people it expects but cannot find are skipped. Dates are relative to
today, so the progress figures look alive whenever the demo starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiative_people,
    initiatives,
    tribes,
)
from models import Actor, Initiative, Task

if TYPE_CHECKING:
    from fedi.demo_context import DemoContext


@dataclass(frozen=True)
class DemoTask:
    """A task; ``offers`` are (username, hours, resources, motivation, state)."""

    name: str
    description: str
    tags: tuple[str, ...]
    lane: int = 0
    due_in_days: int | None = None
    offers: tuple[tuple[str, int | None, str, str, str], ...] = ()
    done: bool = False


@dataclass(frozen=True)
class DemoInitiative:
    """A demo initiative with its board and its people."""

    tribe: str
    creator: str
    name: str
    summary: str
    description: str
    expected_result: str
    motivation: str
    phase: str
    budget_type: str
    budget_amount: int | None
    location: str
    tags: tuple[str, ...]
    started_days_ago: int
    runs_days: int
    lanes: tuple[str, ...]
    tasks: tuple[DemoTask, ...]
    visibility: str = "public"
    supporters: tuple[str, ...] = ()
    # (username, message) partnership requests left waiting.
    partner_requests: tuple[tuple[str, str], ...] = ()
    # (username, text) free messages, then (username, text) comments under the newest one.
    messages: tuple[tuple[str, str], ...] = ()
    comments: tuple[tuple[str, str], ...] = ()
    # (partner, contributor, score, feedback)
    ratings: tuple[tuple[str, str, int, str], ...] = ()


DEMO_INITIATIVES: tuple[DemoInitiative, ...] = (
    DemoInitiative(
        tribe="plein",
        creator="fatima",
        name="Terrassen waar de zon schijnt",
        summary=(
            "Bewoners, ondernemers en de gemeente bepalen samen waar de terrassen op het plein "
            "staan, zodat de hele buurt profiteert van de opbrengst."
        ),
        description=(
            "Nu staat tot op de centimeter vast waar de stoeltjes mogen staan: *\"kijk, je "
            "stoeltje staat 50 cm over de streep\"*. Terwijl daar misschien net de zon "
            "schijnt.\n\n"
            "We maken samen een nieuw terrasplan:\n\n"
            "- waar staan terrassen in de zon, en waar blijft ruimte voor rust?\n"
            "- hoeveel brengt een groter terras op, en wat krijgt de buurt terug?\n"
            "- kan de gemeente de regels zo buigen dat het plan ook uitgevoerd kan worden?"
        ),
        expected_result="Een terrasplan voor het plein dat bewoners, ondernemers en gemeente "
        "samen hebben gemaakt, en een proef van één zomer.",
        motivation="Geen strijd meer over strepen op de stoep, maar samen een beter plein.",
        phase="plan",
        budget_type="money",
        budget_amount=4000,
        location="Het plein, Den Haag",
        tags=("terrassen", "horeca", "buurtcontact", "regelgeving"),
        started_days_ago=30,
        runs_days=120,
        lanes=("Backlog", "Bezig", "Klaar"),
        tasks=(
            DemoTask(
                "Buurtavond organiseren",
                "Een avond in het café waar bewoners en ondernemers hun wensen delen.",
                ("buurtcontact", "facilitatie"), lane=2, done=True,
                offers=(("priya", 4, "", "Ik begeleid de avond graag.", "accepted"),),
            ),
            DemoTask(
                "Schetsen van het nieuwe terras maken",
                "Drie varianten op een kaart van het plein, met zon en schaduw per uur.",
                ("ontwerp", "visualisatie"), lane=1, due_in_days=14,
                offers=(("joost", 8, "Tekenmateriaal en een printer", "Ik maak het plan "
                         "zichtbaar, zodat iedereen mee kan praten.", "accepted"),),
            ),
            DemoTask(
                "Uitzoeken welke regels kunnen buigen",
                "Welke regels gelden er voor terrasgrenzen, en wat mag in een proef?",
                ("regelgeving", "beleid"), lane=1, due_in_days=21,
                offers=(("sanne", 6, "", "Ik zoek het uit met de afdeling vergunningen.",
                         "accepted"),),
            ),
            DemoTask(
                "Opbrengst voor de buurt berekenen",
                "Wat levert een groter terras op, en hoeveel daarvan kan naar de buurt?",
                ("financiën", "data-analyse"), due_in_days=45,
                offers=(("lotte", 5, "", "Rekenen is mijn vak.", "proposed"),),
            ),
            DemoTask(
                "Ruimte voor groen en rust aangeven",
                "Waar op het plein blijft het stil en groen?",
                ("groen", "bewonersoverleg"), due_in_days=30,
            ),
        ),
        supporters=("lotte",),
        partner_requests=(("henk", "Ik woon al sinds 1998 aan het plein en denk graag mee."),),
        messages=(
            ("fatima", "Welkom allemaal! De buurtavond was een succes: veertig mensen, en "
             "iedereen wil meer zon én meer rust. @partners, de schetsen en de regels zijn "
             "nu het belangrijkst."),
        ),
        comments=(
            ("henk", "Mooi! Vergeet het bankje onder de linde niet, @fatima."),
            ("joost", "Ik neem het bankje mee in de schetsen."),
        ),
        ratings=(("fatima", "priya", 95, "Een warme, goed geleide avond. Dank je!"),),
    ),
    DemoInitiative(
        tribe="plein",
        creator="henk",
        name="Groen op het plein",
        summary="Meer bomen en plantenbakken op het plein, onderhouden door de buurt.",
        description="Een idee van bewoners: wie adopteert een plantenbak?",
        expected_result="Tien plantenbakken met een vaste verzorger.",
        motivation="Een plein waar het in de zomer koel blijft.",
        phase="idea",
        budget_type="hours",
        budget_amount=40,
        location="Het plein, Den Haag",
        tags=("groen", "buurtcontact"),
        started_days_ago=5,
        runs_days=90,
        lanes=("Backlog",),
        tasks=(
            DemoTask(
                "Verzorgers voor plantenbakken zoeken", "Per bak één buur die water geeft.",
                ("buurtcontact",), due_in_days=20,
            ),
        ),
        visibility="members",
    ),
    DemoInitiative(
        tribe="zorginkoop",
        creator="ahmed",
        name="Plan B: maatschappelijk aanbesteden",
        summary=(
            "Een nieuwe manier van zorg inkopen in Rotterdam, met ruimte voor maatwerk door "
            "professionals en cliënten."
        ),
        description=(
            "De manier waarop de gemeente zorg inkoopt, laat weinig ruimte voor maatwerk. "
            "Maatschappelijk aanbesteden vraagt om een ander paradigma.\n\n"
            "Elke maand komen we bij elkaar om één stap verder te komen: eerst luisteren naar "
            "cliënten en professionals, dan een nieuw inkoopkader schrijven."
        ),
        expected_result="Een inkoopkader dat de gemeenteraad kan vaststellen.",
        motivation="Zorg die past bij de mens, niet bij het contract.",
        phase="execute",
        budget_type="hours",
        budget_amount=200,
        location="Rotterdam",
        tags=("zorginkoop", "aanbesteden", "maatwerk"),
        started_days_ago=60,
        runs_days=180,
        lanes=("Backlog", "Bezig", "Klaar"),
        tasks=(
            DemoTask(
                "Interviews met cliënten en professionals",
                "Twintig gesprekken: wat werkt er nu niet, en wat zou wel werken?",
                ("huisartsenzorg", "eerstelijnszorg"), lane=2, done=True,
                offers=(("marieke", 16, "", "Ik spreek veel cliënten in mijn praktijk.",
                         "accepted"),),
            ),
            DemoTask(
                "Maandelijkse bijeenkomst voorbereiden",
                "Agenda, gasten en een verslag dat iedereen kan lezen.",
                ("facilitatie", "stakeholdermanagement"), lane=1, due_in_days=10,
                offers=(("priya", 6, "Een vergaderzaal op het ministerie", "Ik ken de "
                         "mensen in het veld.", "proposed"),),
            ),
            DemoTask(
                "Nieuw inkoopkader schrijven",
                "Wat betekent maatschappelijk aanbesteden in regels en contracten?",
                ("aanbesteden", "zorginkoop"), due_in_days=60,
            ),
        ),
        messages=(
            ("ahmed", "De interviews zijn klaar, dank @marieke! Volgende stap: het "
             "inkoopkader. Wie denkt er mee?"),
        ),
        comments=(("priya", "Ik neem het mee naar VWS, @ahmed. Daar leeft dezelfde vraag."),),
        ratings=(("ahmed", "marieke", 90, "Twintig rijke gesprekken, heel waardevol."),),
    ),
)


async def _seed_one(ctx: DemoContext, spec: DemoInitiative) -> None:
    db, settings, people = ctx.db, ctx.settings, ctx.people
    tribe = await tribes.find_tribe(db, spec.tribe)
    creator = people.get(spec.creator)
    if tribe is None or creator is None:
        return
    today = date.today()
    start = today - timedelta(days=spec.started_days_ago)
    item = await initiatives.create_initiative(
        db, settings, tribe, creator, name=spec.name, summary=spec.summary,
        description=spec.description, expected_result=spec.expected_result,
        motivation=spec.motivation, phase=spec.phase, budget_type=spec.budget_type,
        budget_amount=spec.budget_amount, location=spec.location, tags=list(spec.tags),
        start_date=start, end_date=start + timedelta(days=spec.runs_days),
        visibility=spec.visibility,
    )
    lanes = await initiative_board.lanes_of(db, item)
    lanes[0].name = spec.lanes[0]
    for name in spec.lanes[1:]:
        lanes.append(await initiative_board.create_lane(db, settings, item, creator, name))
    contributed: dict[str, int] = {}
    for spec_task in spec.tasks:
        task = await initiative_board.add_task(
            db, settings, item, creator, name=spec_task.name,
            description=spec_task.description, tags=list(spec_task.tags),
            lane_id=lanes[min(spec_task.lane, len(lanes) - 1)].id,
            due_date=today + timedelta(days=spec_task.due_in_days)
            if spec_task.due_in_days is not None else None,
        )
        await _offers(ctx, item, task, creator, spec_task, contributed)
        if spec_task.done:
            await initiative_board.complete_task(db, settings, item, creator, task.id)
    for username in spec.supporters:
        if username in people:
            await initiative_people.support(db, settings, item, people[username])
    for username, message in spec.partner_requests:
        if username in people:
            await initiative_people.request_partnership(
                db, settings, item, people[username], message
            )
    for username, text in spec.messages:
        if username in people:
            entry = await conversation.post_message(db, settings, item, people[username], text)
            for commenter, comment in spec.comments:
                if commenter in people:
                    await conversation.add_comment(
                        db, settings, item, people[commenter], comment, update_id=entry.id
                    )
    for partner, contributor, score, feedback in spec.ratings:
        if partner in people and contributor in contributed:
            await contributions.rate(
                db, settings, item, people[partner], contributed[contributor], score=score,
                feedback=feedback,
            )


async def _offers(
    ctx: DemoContext,
    item: Initiative,
    task: Task,
    creator: Actor,
    spec: DemoTask,
    contributed: dict[str, int],
) -> None:
    for username, hours, resources, motivation, state in spec.offers:
        person = ctx.people.get(username)
        if person is None:
            continue
        made = await contributions.offer(
            ctx.db, ctx.settings, item, person, task.id, hours=hours, resources=resources,
            motivation=motivation,
        )
        if state in ("accepted", "rejected"):
            await contributions.decide(
                ctx.db, ctx.settings, item, creator, made.id, accept=state == "accepted"
            )
        if state == "accepted":
            contributed[username] = made.id


async def seed_initiatives(ctx: DemoContext) -> None:
    """Create the demo initiatives in the demo tribes (after ``seed_tribes``)."""
    for spec in DEMO_INITIATIVES:
        await _seed_one(ctx, spec)
