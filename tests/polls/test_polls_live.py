"""Polls over real HTTP: a Mastodon-shaped account, and two ``fedi serve`` instances.

Mastodon (FEP-9967): alice starts a poll in the tribe ``plein`` through her C2S outbox
(``Create{Question}`` with the tribe as ``audience``). mia, a Mastodon-shaped member on a
loopback server (``loopback_mastodon``), gets the tribe's boost, fetches the ``Question``
and votes the way Mastodon does: ``Create{Note{name, inReplyTo}}`` to alice's inbox, not
public. Her second vote and a vote by noor, who is no member, are refused; when the poll
closes, the final result reaches mia as ``Update{Question}`` with ``closed``.

Two instances: bob on B joins ``plein`` on A, the poll reaches B through the tribe, and
bob votes in it through his own outbox on B; B sends the vote to alice, A counts it and
sends the new counts back as ``Update{Question}``. carol on B, no member, is refused by A.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    PUBLIC,
    alice_and_bob,
    bob_joins_plein,
    inbox_items,
    outbox_post,
    person_with_token,
    tribe_plein,
    wait_for,
)
from loopback_mastodon import LoopbackMastodon

pytestmark = pytest.mark.live


def _iso(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _question(plein: str, closes_in: float) -> dict[str, Any]:
    """The organiser's C2S ``Create{Question}`` (the tribe as ``audience``)."""
    return {
        "@context": AS, "type": "Create", "to": [PUBLIC], "audience": plein,
        "object": {
            "type": "Question", "name": "Welke kleur krijgen de bankjes?",
            "oneOf": [{"type": "Note", "name": "Groen"}, {"type": "Note", "name": "Blauw"}],
            "endTime": _iso(closes_in), "to": [PUBLIC], "audience": plein,
        },
    }


def _fetch(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(url, headers={"Accept": AP})
    response.raise_for_status()
    return dict(response.json())


def _totals(question: dict[str, Any]) -> list[int]:
    return [o["replies"]["totalItems"] for o in question["oneOf"]]


def _mastodon_vote(account: LoopbackMastodon, number: int, poll: dict[str, Any],
                   choice: str) -> dict[str, Any]:
    """A vote exactly as Mastodon sends it: ``#votes/<id>`` ids, a Note with ``name`` and
    ``inReplyTo``, addressed to the poll's author only."""
    vote_id = f"{account.actor.id}#votes/{number}"
    return {
        "@context": AS, "id": f"{vote_id}/activity", "type": "Create",
        "actor": account.actor.id, "to": [poll["attributedTo"]],
        "object": {
            "id": vote_id, "type": "Note", "name": choice, "attributedTo": account.actor.id,
            "to": [poll["attributedTo"]], "inReplyTo": poll["id"],
        },
    }


def _join_tribe(mia: LoopbackMastodon, api: httpx.Client, plein: str, servers: list[Any]) -> None:
    group = _fetch(api, plein)
    assert mia.post(group["inbox"], mia.actor.activity("Follow", plein)).status_code in (200, 202)
    wait_for(lambda: [a for a in mia.received("Accept") if a["actor"] == plein],
             "the tribe to accept mia's Follow", servers)


def test_a_mastodon_member_votes_once_and_gets_the_result(live_server_factory):
    one = live_server_factory()
    servers = [one]
    alice_token = person_with_token(one, "alice")
    plein = tribe_plein(one)
    alice_inbox = f"{one.base_url}/users/alice/inbox"
    with LoopbackMastodon("mia") as mia, LoopbackMastodon("noor") as noor, \
            LoopbackMastodon("sam") as sam, httpx.Client(timeout=10) as api:
        _join_tribe(mia, api, plein, servers)
        _join_tribe(sam, api, plein, servers)
        closes_in = 12.0
        started = time.monotonic()
        resp = outbox_post(api, one, "alice", alice_token, _question(plein, closes_in))
        assert resp.status_code == 201, resp.text
        poll_id = resp.json()["object"]["id"]

        # The tribe boosts the poll to its followers; Mastodon then fetches the Question.
        wait_for(lambda: [b for b in mia.boosts() if b["object"] == poll_id],
                 "the tribe's boost of the poll at mia's server", servers)
        poll = _fetch(api, poll_id)
        assert poll["type"] == "Question" and poll["attributedTo"].endswith("/users/alice")
        assert [o["name"] for o in poll["oneOf"]] == ["Groen", "Blauw"]
        assert poll["votersCount"] == 0 and _totals(poll) == [0, 0]
        assert "closed" not in poll and poll["endTime"]

        assert mia.post(alice_inbox, _mastodon_vote(mia, 1, poll, "Groen")).status_code == 202
        wait_for(lambda: _fetch(api, poll_id)["votersCount"] == 1, "mia's vote counted",
                 servers)
        # A second vote by mia and one by noor (who never joined) are refused; sam's counts.
        assert mia.post(alice_inbox, _mastodon_vote(mia, 2, poll, "Blauw")).status_code == 202
        assert noor.post(alice_inbox, _mastodon_vote(noor, 1, poll, "Blauw")).status_code == 202
        assert sam.post(alice_inbox, _mastodon_vote(sam, 1, poll, "Groen")).status_code == 202
        wait_for(lambda: _fetch(api, poll_id)["votersCount"] >= 2, "sam's vote counted",
                 servers)
        time.sleep(1.0)  # let the refused votes finish too
        counted = _fetch(api, poll_id)
        assert counted["votersCount"] == 2 and _totals(counted) == [2, 0]

        # Live results: the counts reach the voters as Update{Question} after each vote.
        wait_for(lambda: [u for u in mia.received("Update")
                           if isinstance(u["object"], dict) and u["object"]["id"] == poll_id],
                 "an Update{Question} with the new counts at mia's server", servers)

        # Once its time is up the poll closes (here on the next read of the Question) and
        # the final result goes out to the voters.
        time.sleep(max(0.0, closes_in - (time.monotonic() - started)) + 1.0)
        final = _fetch(api, poll_id)
        assert final["closed"] and _totals(final) == [2, 0]

        def closed_update() -> list[dict[str, Any]]:
            return [u for u in mia.received("Update")
                    if isinstance(u["object"], dict) and u["object"]["id"] == poll_id
                    and u["object"].get("closed")]

        update = wait_for(closed_update, "the closing Update{Question} at mia's", servers)[0]
        assert _totals(update["object"]) == [2, 0] and update["object"]["votersCount"] == 2
        assert update["actor"].endswith("/users/alice")
        assert mia.post(alice_inbox, _mastodon_vote(mia, 3, poll, "Blauw")).status_code == 202
        time.sleep(1.0)
        assert _totals(_fetch(api, poll_id)) == [2, 0]  # closed: no more votes


def test_a_member_on_another_instance_votes_in_a_tribe_poll(live_server_factory):
    pair = alice_and_bob(live_server_factory)
    one, two, alice_token, bob_token = pair
    servers = [one, two]
    carol_token = person_with_token(two, "carol")
    plein = tribe_plein(one)
    alice_id = f"{one.base_url}/users/alice"
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=10) as client:
        bob_joins_plein(client, pair)
        # carol on B follows alice (not the tribe): she sees the poll, but is no member.
        resp = outbox_post(client, two, "carol", carol_token,
                           {"@context": AS, "type": "Follow", "object": alice_id})
        assert resp.status_code == 201, resp.text

        resp = outbox_post(client, one, "alice", alice_token, _question(plein, 600))
        assert resp.status_code == 201, resp.text
        poll_id = resp.json()["object"]["id"]

        def vote(name: str, token: str, choice: str) -> httpx.Response:
            return outbox_post(client, two, name, token, {
                "@context": AS, "type": "Create", "to": [alice_id],
                "object": {"type": "Note", "name": choice, "inReplyTo": poll_id,
                           "to": [alice_id]},
            })

        # B knows the poll once the tribe's announce of it has been processed there.
        sent = wait_for(lambda: (r := vote("bob", bob_token, "Blauw")).status_code == 201 and r,
                        "bob's vote accepted by his own instance", servers)
        note = sent.json()["object"]
        assert note["name"] == "Blauw" and note["inReplyTo"] == poll_id
        assert note["to"] == [alice_id] and PUBLIC not in sent.json().get("to", [])
        wait_for(lambda: _fetch(client, poll_id)["votersCount"] == 1,
                 "A to count bob's vote", servers)
        assert _totals(_fetch(client, poll_id)) == [0, 1]

        # A second vote is refused on B already (the rule exists once, in the service).
        assert vote("bob", bob_token, "Groen").status_code == 409

        # carol is no member of the tribe: B sends her vote, A refuses it.
        wait_for(lambda: vote("carol", carol_token, "Groen").status_code == 201,
                 "carol's vote sent by B", servers)

        # A sends the new counts back to the voter as Update{Question}.
        wait_for(lambda: [i for i in inbox_items(client, bob_id, bob_token)
                          if i.get("type") == "Update" and isinstance(i.get("object"), dict)
                          and i["object"].get("id") == poll_id
                          and i["object"].get("votersCount") == 1],
                 "the Update{Question} with bob's vote in bob's inbox", servers)
        time.sleep(1.5)  # carol's refused vote has been processed by now
        final = _fetch(client, poll_id)
        assert final["votersCount"] == 1 and _totals(final) == [0, 1]
