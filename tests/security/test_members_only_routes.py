"""Members-only content, probed on every route by everyone who may not see it.

Alice's tribe ``plein`` has a members-only initiative with a task, a message and a comment,
each holding a secret word. bob is a member, dan a local person who is not, and fiona a
stranger on a Mastodon-shaped server. Every GET route of the app (read from its URL map,
so a route added later is probed too) is filled in with the tribe, the initiative, its
task, message, comment and the activities alice published about it, and requested:

- by an anonymous visitor, as a page and as ActivityPub JSON;
- by dan, logged in;
- by fiona, with an HTTP signature (as her server would fetch it).

No answer may contain a secret word (or be a 5xx). As a control, bob sees the secrets on
the initiative's page, so the words are really there to leak.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from attack_helpers import AP_HEADERS, World, world
from sqlalchemy import select
from tribe_helpers import login, make_person

from activitypub.http_signatures import sign_request
from fedi.domain import conversation, initiative_board, initiatives, tribe_members
from models import Actor, InitiativeUpdate, OutboxActivity, Tribe

SECRETS = (
    "Zonnebloemgeheim", "Verborgensamenvatting", "Ultrageheimebeschrijving",
    "Tulpentaakgeheim", "Krokusboodschap", "Narcisreactie",
)
# Routes that cannot show an initiative (files, health, the login machinery).
# Event streams never end, so a plain GET of them would not return: who may watch what is
# tested where they are built (tests/web_initiative/test_live_stream.py for ``/live``,
# tests/mastodon_api/test_streaming.py for the streaming API).
SKIP_PREFIXES = (
    "/static/", "/media/", "/healthz", "/readyz", "/metrics", "/reset/", "/live",
    "/api/v1/streaming",
)


@pytest.fixture
async def secret_world(tmp_path: Path) -> AsyncIterator[tuple[World, dict[str, Any]]]:
    """The world with the members-only initiative; yields it and the route values."""
    async with world(tmp_path) as made:
        app = made.app
        settings = app.state.settings
        await make_person(app, "bob")
        await make_person(app, "dan")
        async with app.state.db.session() as db:
            tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
            assert tribe is not None
            alice = await _actor(db, "alice")
            bob = await _actor(db, "bob")
            await tribe_members.join(db, settings, tribe, bob)
            initiative = await initiatives.create_initiative(
                db, settings, tribe, alice, name="Plan Zonnebloemgeheim",
                summary="Verborgensamenvatting", description="De Ultrageheimebeschrijving.",
                visibility="members",
            )
            task = await initiative_board.add_task(
                db, settings, initiative, alice, name="Tulpentaakgeheim"
            )
            update = await conversation.post_message(
                db, settings, initiative, alice, "Krokusboodschap voor de leden"
            )
            comment = await conversation.add_comment(
                db, settings, initiative, alice, "Narcisreactie", update_id=update.id
            )
            activities = [
                ap_id.rsplit("/activities/", 1)[1]
                for ap_id in await db.scalars(select(OutboxActivity.ap_id))
                if "/activities/" in ap_id
            ]
            updates = list(await db.scalars(
                select(InitiativeUpdate.id).where(
                    InitiativeUpdate.initiative_id == initiative.id
                )
            ))
            values = {
                "slug": ["plein"], "tribe_id": [tribe.id], "initiative_id": [initiative.id],
                "task_id": [task.id], "comment_id": [comment.id], "update_id": updates,
                "username": ["alice", "bob"], "activity_id": activities, "poll_id": [1],
                "note_id": ["1"], "key": ["1"], "token": ["x"],
            }
        yield made, values


async def _actor(db: Any, username: str) -> Actor:
    found = await db.scalar(
        select(Actor).where(Actor.username == username, Actor.local.is_(True))
    )
    assert found is not None
    return found


def _paths(made: World, values: dict[str, Any]) -> list[str]:
    """Every GET route, filled in with every combination of the values it needs."""
    out: list[str] = []
    for rule in made.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP_PREFIXES):
            continue
        paths = [rule.rule]
        for name in rule.arguments:
            if name not in values:
                paths = []
                break
            expanded: list[str] = []
            for path in paths:
                for value in values[name]:
                    expanded.append(_fill(path, name, str(value)))
            paths = expanded
        for path in paths:
            out += [path, f"{path}?page=1"]
    return sorted(set(out))


def _fill(path: str, name: str, value: str) -> str:
    for converter in ("", "int:", "path:", "string:"):
        path = path.replace(f"<{converter}{name}>", value)
    return path


def _leaks(body: str) -> list[str]:
    return [word for word in SECRETS if word in body]


async def test_members_only_initiative_leaks_nowhere(
    secret_world: tuple[World, dict[str, Any]],
) -> None:
    made, values = secret_world
    app = made.app
    paths = _paths(made, values)
    assert any("/initiatives/" in p for p in paths) and len(paths) > 50, paths

    # Control: a member sees every secret on the initiative's pages.
    member = app.test_client()
    await login(member, "bob")
    number = values["initiative_id"][0]
    seen = ""
    for path in (f"/initiatives/{number}", f"/initiatives/{number}/board",
                 f"/initiatives/{number}/conversation"):
        seen += await (await member.get(path)).get_data(as_text=True)
    assert set(_leaks(seen)) >= {"Zonnebloemgeheim", "Tulpentaakgeheim", "Krokusboodschap"}

    anonymous = app.test_client()
    dan = app.test_client()
    await login(dan, "dan")
    fiona = made.fiona
    problems: list[str] = []
    for path in paths:
        url = app.state.settings.base_url + path
        signed = {**AP_HEADERS, **sign_request(
            "GET", url, {}, None, fiona.key_id, fiona.private_pem
        )}
        for who, client, headers in (
            ("visitor", anonymous, {}),
            ("visitor (JSON)", anonymous, AP_HEADERS),
            ("dan", dan, {}),
            ("dan (JSON)", dan, AP_HEADERS),
            ("fiona (signed)", anonymous, signed),
        ):
            response = await client.get(path, headers=headers)
            body = await response.get_data(as_text=True)
            if response.status_code >= 500:
                problems.append(f"{who} {path}: {response.status_code}")
            leaked = _leaks(body)
            if leaked:
                problems.append(f"{who} {path}: {response.status_code} shows {leaked}")
    assert not problems, "\n".join(problems)
