"""The issue's cross-instance scenario over real HTTP between two ``fedi serve`` processes.

bob on instance B joins the tribe ``plein`` on instance A (C2S ``Follow``), starts an
initiative in it through B's web forms (we host its ``Page``; the tribe's server accepts
and announces it), carol on A offers hours through A's web forms, bob accepts and completes
the task on B, and A's copy shows all of it. Forms are driven with httpx and their CSRF
tokens; arrival is polled with a bounded loop. (The Mastodon reply/favourite path runs
in-process in ``test_initiative_two_instances.py``: it needs a fake Mastodon server.)
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from test_two_instances_live import AP, AS, PASSWORD, _setup_person, _wait_for

pytestmark = pytest.mark.live

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: httpx.Client, url: str) -> str:
    page = client.get(url, follow_redirects=True)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {url}: {page.status_code}"
    return match.group(1)


def _login(client: httpx.Client, base: str, name: str) -> None:
    token = _csrf(client, f"{base}/login")
    resp = client.post(f"{base}/login", data={
        "login": name, "password": PASSWORD, "csrf_token": token,
    })
    assert resp.status_code in (302, 303), resp.text


def _post(client: httpx.Client, url: str, page: str, form: dict[str, Any]) -> httpx.Response:
    resp = client.post(url, data={**form, "csrf_token": _csrf(client, page)})
    assert resp.status_code in (302, 303), (url, resp.status_code, resp.text[-2000:])
    return resp


def test_initiative_between_two_live_instances(live_server_factory):
    one = live_server_factory()
    two = live_server_factory()
    servers = [one, two]
    _setup_person(one, "alice")
    _setup_person(one, "carol")
    bob_token = _setup_person(two, "bob")
    one.cli("tribe", "create", "plein", "--name", "Het Plein", "--owner", "alice")
    plein = f"{one.base_url}/tribes/plein"

    with httpx.Client(timeout=10) as api, httpx.Client(timeout=10) as bob, \
            httpx.Client(timeout=10) as carol:
        resp = api.post(
            f"{two.base_url}/users/bob/outbox",
            json={"@context": AS, "type": "Follow", "object": f"plein@{one.host}"},
            headers={"Authorization": f"Bearer {bob_token}", "Content-Type": AP},
        )
        assert resp.status_code == 201, resp.text

        def bob_joined() -> bool:
            members = api.get(f"{plein}/members?page=1", headers={"Accept": AP})
            return f"{two.base_url}/users/bob" in members.json().get("orderedItems", [])

        _wait_for(bob_joined, "bob to be a member of the tribe", servers)

        # Bob starts the initiative from B's web: B finds the tribe and shows the form.
        _login(bob, two.base_url, "bob")
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

        copy = one.base_url + _wait_for(copy_path, "the initiative on A", servers)

        def copy_task() -> str | None:
            match = re.search(r'href="(/initiatives/\d+/tasks/\d+)"',
                              api.get(f"{copy}/board").text)
            return match.group(1) if match else None

        task_on_a = one.base_url + _wait_for(copy_task, "the task on A", servers)

        # Carol offers on A; the Offer goes to the host (B), where bob accepts it.
        _login(carol, one.base_url, "carol")
        _post(carol, f"{task_on_a}/offer", task_on_a,
              {"hours": "4", "motivation": "Ik ben timmerman"})
        task_on_b = f"{page_id}/tasks/1"

        def accept_url() -> str | None:
            match = re.search(r'action="(/initiatives/\d+/contributions/\d+/accept)"',
                              bob.get(task_on_b).text)
            return match.group(1) if match else None

        accept = two.base_url + _wait_for(accept_url, "carol's offer on B", servers)
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

        _wait_for(settled, "the accepted offer and the completed task on A", servers)
        ticket = api.get(f"{page_id}/tasks/1", headers={"Accept": AP}).json()
        assert ticket["type"] == "Ticket" and ticket["isResolved"] is True
