"""The whole Part-up journey over client-to-server only, between two real instances.

Two ``fedi serve`` processes talk over real HTTP. Nobody touches a web form: alice on A
creates the tribe (``Create{Group}``), bob on B joins it (``Join``), alice starts an
initiative (``Create{Page}``) and plans a task in a new lane (``Create{Ticket}``), bob
offers hours from B (``Offer``), alice accepts (``Accept``), bob comments (``Create{Note}``
replying to the Page) and carol on A supports it (``Like``). Then the web pages of both
instances are compared: the initiative's page on A and its copy on B show the comment, the
supporter and bob as partner; the boards show the task, the task pages bob's accepted
offer. Arrival is polled with a bounded loop (``wait_for``).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from live_helpers import AP, AS, outbox_post, person_with_token, wait_for

pytestmark = pytest.mark.live


def _act(client: httpx.Client, server: Any, name: str, token: str, body: dict[str, Any]
         ) -> dict[str, Any]:
    resp = outbox_post(client, server, name, token, {"@context": AS, **body})
    assert resp.status_code == 201, (body, resp.status_code, resp.text)
    assert resp.headers["Location"] == resp.json()["id"]
    return dict(resp.json())


def _eventually(client: httpx.Client, server: Any, name: str, token: str,
                body: dict[str, Any], what: str, servers: list[Any]) -> dict[str, Any]:
    """Post ``body`` until it is accepted: what it names may still be on its way here
    (404 until the tribe's announce arrives)."""
    def attempt() -> dict[str, Any] | None:
        resp = outbox_post(client, server, name, token, {"@context": AS, **body})
        if resp.status_code == 404:
            return None
        assert resp.status_code == 201, (body, resp.status_code, resp.text)
        return dict(resp.json())

    return wait_for(attempt, what, servers, timeout=60)  # type: ignore[no-any-return]


def _section(html: str, marker: str) -> str:
    start = html.find(marker)
    assert start != -1, f"no {marker} on the page"
    return html[start: html.find("</section>", start)]


def test_partup_journey_over_c2s_between_two_instances(live_server_factory: Any) -> None:
    one = live_server_factory()
    two = live_server_factory()
    servers = [one, two]
    alice = person_with_token(one, "alice")
    carol = person_with_token(one, "carol")
    bob = person_with_token(two, "bob")
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=15) as api:
        # The tribe, created over C2S, and bob joining it from B.
        created = _act(api, one, "alice", alice, {
            "type": "Create", "object": {
                "type": "Group", "preferredUsername": "plein", "name": "Het Plein",
                "summary": "Over ons plein", "joinMode": "open"}})
        plein = f"{one.base_url}/tribes/plein"
        assert created["type"] == "Create"
        group = api.get(plein, headers={"Accept": AP}).json()
        assert group["type"] == "Group" and group["name"] == "Het Plein"
        _act(api, two, "bob", bob, {"type": "Join", "object": plein})

        def bob_is_member() -> bool:
            members = api.get(f"{plein}/members?page=1", headers={"Accept": AP}).json()
            return bob_id in members.get("orderedItems", [])

        wait_for(bob_is_member, "bob to be a member of the tribe", servers)

        # The initiative and a task in a lane of its own, by alice on A.
        start = _act(api, one, "alice", alice, {
            "type": "Page", "name": "Bankjes op het plein", "audience": plein,
            "summary": "Zitplekken voor iedereen.",
            "source": {"content": "We zetten **bankjes** neer.", "mediaType": "text/markdown"}})
        page_id = start["object"]["id"]
        assert api.get(page_id, headers={"Accept": AP}).json()["type"] == "Page"
        ticket = _act(api, one, "alice", alice, {"type": "Create", "object": {
            "type": "Ticket", "name": "Bankjes timmeren", "context": page_id,
            "lane": "Te doen", "talents": ["timmeren"]}})
        task_id = ticket["object"]["id"]

        # bob offers from B (once B holds the task), alice accepts on A.
        offer = _eventually(api, two, "bob", bob, {
            "type": "Offer", "target": task_id, "object": {
                "type": "Contribution", "target": task_id, "hours": 4,
                "motivation": "Ik ben timmerman"}},
            "B to hold the task so bob can offer", servers)
        assert offer["type"] == "Offer"
        _eventually(api, one, "alice", alice, {"type": "Accept", "object": offer["id"]},
                    "bob's offer to reach A so alice can accept it", servers)

        # bob comments from B, carol supports on A.
        _eventually(api, two, "bob", bob, {
            "type": "Note", "content": "Ik neem mijn eigen zaag mee.", "inReplyTo": page_id},
            "B to hold the initiative so bob can comment", servers)
        _act(api, one, "alice", alice, {"type": "Note", "inReplyTo": page_id, "isUpdate": True,
                                        "content": "Zaterdag beginnen we."})
        _act(api, one, "carol", carol, {"type": "Like", "object": page_id})

        # The pages: A's original and B's copy.
        def copy_on_b() -> str | None:
            html = api.get(f"{two.base_url}/tribes/plein@{one.host}/initiatives").text
            match = re.search(r'href="(/initiatives/\d+)"', html)
            return match.group(1) if match and "Bankjes op het plein" in html else None

        copy = two.base_url + wait_for(copy_on_b, "the initiative's copy on B", servers)
        pages = {"A": page_id, "B": copy}

        def settled() -> bool:
            for url in pages.values():
                html = api.get(url).text
                if not (
                    "Ik neem mijn eigen zaag mee." in html
                    and "Zaterdag beginnen we." in html
                    and f"@carol@{one.host}" in _section(html, 'id="supporters-title"')
                    and f"@bob@{two.host}" in html
                ):
                    return False
            return True

        wait_for(settled, "the comment, message, supporter and partner on both pages",
                 servers, timeout=60)

        for side, url in pages.items():
            board = api.get(f"{url}/board").text
            main = board[board.find("<main"):board.find("</main>")]
            assert "Bankjes timmeren" in board, (side, main)
            assert "Te doen" in board, (side, main)
            match = re.search(r'href="(/initiatives/\d+/tasks/\d+)"', board)
            assert match, side
            base = one.base_url if side == "A" else two.base_url

            def offer_shown(path: str = match.group(1), base: str = base) -> bool:
                task_html = api.get(base + path).text
                return "Ik ben timmerman" in task_html and f"@bob@{two.host}" in task_html

            wait_for(offer_shown, f"bob's accepted offer on the task page on {side}", servers)
        # The contribution's id dereferences as JSON at its origin (B, where bob offered).
        contribution = api.get(offer["object"]["id"], headers={"Accept": AP},
                               follow_redirects=True)
        assert contribution.status_code == 200, contribution.text
        wait_for(lambda: api.get(offer["object"]["id"], headers={"Accept": AP},
                                 follow_redirects=True).json()["contributionState"] == "accepted",
                 "the contribution to be accepted at its origin", servers)
