"""The issue's cross-instance scenario over real HTTP between two ``fedi serve`` processes.

bob on instance B joins the tribe ``plein`` on instance A (C2S ``Follow``), starts an
initiative in it through B's web forms (we host its ``Page``; the tribe's server accepts
and announces it), carol on A offers hours through A's web forms, bob accepts and completes
the task on B, and A's copy shows all of it. Forms are driven with httpx and their CSRF
tokens; arrival is polled with a bounded loop.

A Mastodon-shaped account, mia, is served over real loopback HTTP too
(``loopback_mastodon.LoopbackMastodon``: WebFinger, a ``Person`` with its key, an inbox
that records). She follows the tribe, receives the initiative as a boost she can show
(name, summary, link), then replies to it, delivered only to bob's inbox as Mastodon does,
and favourites it; the reply and the favourite show up on both instances.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    PUBLIC,
    csrf_of,
    person_with_token,
    tribe_plein,
    wait_for,
    web_login,
)
from loopback_mastodon import LoopbackMastodon

pytestmark = pytest.mark.live

def _post(client: httpx.Client, url: str, page: str, form: dict[str, Any]) -> httpx.Response:
    resp = client.post(url, data={**form, "csrf_token": csrf_of(client, page)})
    assert resp.status_code in (302, 303), (url, resp.status_code, resp.text[-2000:])
    return resp


def _mastodon_follows(mia: LoopbackMastodon, api: httpx.Client, host: str, servers: list[Any]
                      ) -> str:
    """Mia finds the tribe by WebFinger (``plein@host``), follows it at its inbox and waits
    for the tribe's Accept; returns the tribe's id."""
    finger = api.get(f"http://{host}/.well-known/webfinger",
                     params={"resource": f"acct:plein@{host}"})
    assert finger.status_code == 200, finger.text
    group_id = next(link["href"] for link in finger.json()["links"] if link["rel"] == "self")
    group = api.get(group_id, headers={"Accept": AP}).json()
    assert group["type"] == "Group"
    follow = mia.actor.activity("Follow", group_id)
    assert mia.post(group["inbox"], follow).status_code in (200, 202)
    wait_for(
        lambda: [a for a in mia.received("Accept") if a["actor"] == group_id],
        "the tribe to accept mia's Follow", servers,
    )
    return str(group_id)


def _mastodon_shows(api: httpx.Client, page_id: str) -> dict[str, Any]:
    """What Mastodon fetches to show the boosted Page as a status (name, summary and a
    link to ``url``); returns the author's actor document (where replies go)."""
    page = api.get(page_id, headers={"Accept": AP}).json()
    assert page["type"] == "Page" and page["name"] == "Bankjes op het plein"
    assert page["summary"] == "Zitplekken voor iedereen." and page["url"] == page_id
    return dict(api.get(page["attributedTo"], headers={"Accept": AP}).json())


def _mastodon_reply(mia: LoopbackMastodon, author: dict[str, Any], page_id: str) -> str:
    """Mia replies to the Page, delivered only to its author's inbox (Mastodon's way);
    returns the reply's id."""
    path = f"/users/{mia.actor.username}/statuses/1001"
    reply = {
        "id": mia.server.url(path), "type": "Note", "attributedTo": mia.actor.id,
        "inReplyTo": page_id, "content": "<p>Mooi plan! Ik help mee schilderen.</p>",
        "to": [PUBLIC], "cc": [mia.actor.id + "/followers", author["id"]],
        "published": "2025-05-01T10:00:00Z", "url": mia.server.url("/@mia/1001"),
        "tag": [{"type": "Mention", "href": author["id"],
                 "name": f"@{author['preferredUsername']}"}],
    }
    # Mia's server serves the status, so the tribe's server can confirm it at its origin.
    mia.server.docs[path] = {"@context": AS, **reply}
    create = mia.actor.activity("Create", reply, to=reply["to"], cc=reply["cc"])
    assert mia.post(author["inbox"], create).status_code in (200, 202)
    return str(reply["id"])


def _supporters_section(html: str) -> str:
    """The supporters list of an initiative page."""
    start = html.find('id="supporters-title"')
    assert start != -1, "no supporters section"
    return html[start: html.find("</section>", start)]


def _collection(api: httpx.Client, url: str) -> dict[str, Any]:
    """A collection (or one of its pages) as JSON; a copy's redirect to the original is
    followed."""
    response = api.get(url, headers={"Accept": AP}, follow_redirects=True)
    response.raise_for_status()
    return dict(response.json())


def _item_ids(page: dict[str, Any]) -> list[str]:
    return [i if isinstance(i, str) else i["id"] for i in page.get("orderedItems", [])]


def test_initiative_between_two_live_instances(live_server_factory):
    one = live_server_factory()
    two = live_server_factory()
    servers = [one, two]
    person_with_token(one, "alice")
    person_with_token(one, "carol")
    bob_token = person_with_token(two, "bob")
    plein = tribe_plein(one)

    with LoopbackMastodon("mia") as mia, httpx.Client(timeout=10) as api, \
            httpx.Client(timeout=10) as bob, httpx.Client(timeout=10) as carol:
        assert _mastodon_follows(mia, api, one.host, servers) == plein
        resp = api.post(
            f"{two.base_url}/users/bob/outbox",
            json={"@context": AS, "type": "Follow", "object": f"plein@{one.host}"},
            headers={"Authorization": f"Bearer {bob_token}", "Content-Type": AP},
        )
        assert resp.status_code == 201, resp.text

        def bob_joined() -> bool:
            members = api.get(f"{plein}/members?page=1", headers={"Accept": AP})
            return f"{two.base_url}/users/bob" in members.json().get("orderedItems", [])

        wait_for(bob_joined, "bob to be a member of the tribe", servers)

        # Bob starts the initiative from B's web: B finds the tribe and shows the form.
        web_login(bob, two.base_url, "bob")
        start = bob.get(f"{two.base_url}/initiatives/start", params={"tribe": f"plein@{one.host}"})
        assert start.status_code == 303, start.text
        form_url = two.base_url + start.headers["Location"] if start.headers[
            "Location"].startswith("/") else start.headers["Location"]
        created = _post(bob, form_url, form_url, {
            "name": "Bankjes op het plein", "summary": "Zitplekken voor iedereen.",
            "description": "We zetten bankjes neer.", "phase": "plan", "visibility": "public",
            "budget_type": "none", "budget_amount": "", "tags": "", "location": "",
            "expected_result": "", "motivation": "", "start_date": "", "end_date": "",
        })
        initiative_path = created.headers["Location"]
        page_id = two.base_url + initiative_path if initiative_path.startswith("/") else (
            initiative_path)
        page = api.get(page_id, headers={"Accept": AP}).json()
        assert page["type"] == "Page" and page["audience"] == plein
        assert page["name"] == "Bankjes op het plein" and page["url"] == page_id
        _post(bob, f"{page_id}/tasks", f"{page_id}/board", {"name": "Bankjes timmeren"})

        # A keeps a copy in the tribe; its board lists the task (with B's Ticket id).
        def copy_path() -> str | None:
            html = api.get(f"{one.base_url}/tribes/plein/initiatives").text
            if "Bankjes op het plein" not in html:
                return None
            match = re.search(r'href="(/initiatives/\d+)"', html)
            return match.group(1) if match else None

        copy = one.base_url + wait_for(copy_path, "the initiative on A", servers)

        def copy_task() -> str | None:
            match = re.search(r'href="(/initiatives/\d+/tasks/\d+)"',
                              api.get(f"{copy}/board").text)
            return match.group(1) if match else None

        task_on_a = one.base_url + wait_for(copy_task, "the task on A", servers)

        # Carol offers on A; the Offer goes to the host (B), where bob accepts it.
        web_login(carol, one.base_url, "carol")
        _post(carol, f"{task_on_a}/offer", task_on_a,
              {"hours": "4", "motivation": "Ik ben timmerman"})
        task_on_b = f"{page_id}/tasks/1"

        def accept_url() -> str | None:
            match = re.search(r'action="(/initiatives/\d+/contributions/\d+/accept)"',
                              bob.get(task_on_b).text)
            return match.group(1) if match else None

        accept = two.base_url + wait_for(accept_url, "carol's offer on B", servers)
        _post(bob, accept, task_on_b, {})
        _post(bob, f"{task_on_b}/complete", task_on_b, {"back": "task"})

        # A's copy shows the accepted contribution, carol as partner and the task done
        # (the Dutch default locale labels it "Afgerond", English "Completed").
        def settled() -> bool:
            task_html = api.get(task_on_a).text
            return (
                "Ik ben timmerman" in task_html
                and ("Afgerond" in task_html or "Completed" in task_html)
                and "@carol@" in api.get(copy).text
            )

        wait_for(settled, "the accepted offer and the completed task on A", servers)
        ticket = api.get(f"{page_id}/tasks/1", headers={"Accept": AP}).json()
        assert ticket["type"] == "Ticket" and ticket["isResolved"] is True

        # Mia got the initiative from the tribe as a boost of the Page (and the wrapped
        # Create, FEP-1b12); the task was not boosted.
        wait_for(
            lambda: [a for a in mia.boosts() if a["object"] == page_id and a["actor"] == plein],
            "the tribe's boost of the initiative at mia's server", servers,
        )
        assert [a for a in mia.received("Announce", "Create")
                if a["object"]["object"]["id"] == page_id]
        assert not [a for a in mia.boosts() if a["object"] == ticket["id"]]

        author = _mastodon_shows(api, page_id)
        pages = [page_id, copy]  # B's original and A's copy

        # The favourite (to bob's inbox only) makes mia a supporter on both instances.
        like = mia.actor.activity("Like", page_id)
        assert mia.post(author["inbox"], like).status_code in (200, 202)
        wait_for(
            lambda: all(mia.handle in _supporters_section(api.get(url).text) for url in pages),
            "mia among the supporters on both initiative pages", servers,
        )
        for url in pages:
            assert _collection(api, f"{url}/likes")["totalItems"] == 1

        # The reply (to bob's inbox only) lands in the initiative's conversation on both.
        reply_id = _mastodon_reply(mia, author, page_id)
        wait_for(
            lambda: all("Mooi plan! Ik help mee schilderen." in api.get(url).text
                        for url in pages),
            "mia's reply on both initiative pages", servers,
        )
        for url in pages:
            replies = _collection(api, f"{url}/replies")
            assert replies["totalItems"] >= 1
            assert reply_id in _item_ids(_collection(api, f"{url}/replies?page=1"))
            # Replying did not count her twice.
            assert _collection(api, f"{url}/likes")["totalItems"] == 1
            # The accepted contributor is a partner on both pages too.
            assert f"@carol@{one.host}" in api.get(url).text
