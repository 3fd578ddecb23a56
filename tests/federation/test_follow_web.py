"""The social pages across two in-process instances: follow a remote handle, see their notes."""

from __future__ import annotations

from account_helpers import PASSWORD, csrf_from, login, text
from harness import drain
from social_helpers import follow_rows

from fedi.domain.accounts import create_user

ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"


async def _user(app, name: str, locked: bool = False) -> None:
    async with app.state.db.session() as db:
        user = await create_user(db, app.state.settings, username=name,
                                 email=f"{name}@example.org", password=PASSWORD)
        user.actor.manually_approves_followers = locked


async def _post(client, url: str, data: dict[str, str], page: str) -> object:
    token = await csrf_from(client, page)
    return await client.post(url, form={"csrf_token": token, **data})


async def test_follow_remote_handle_and_read_their_notes(two_apps):
    a, b = two_apps
    await _user(a, "alice")
    await _user(b, "bob", locked=True)
    alice = a.test_client()
    await login(alice, "alice")
    resp = await _post(alice, "/follow", {"handle": "@bob@localhost:8002"}, "/follow")
    assert resp.status_code == 302
    await drain(a, b)
    assert await follow_rows(a) == [(ALICE, BOB, False)]
    page = await text(await alice.get("/follows"))
    assert "@bob@localhost:8002" in page

    # bob accepts on his own instance's page.
    bob = b.test_client()
    await login(bob, "bob")
    page = await text(await bob.get("/follows"))
    assert "@alice@localhost:8001" in page
    import re

    found = re.search(r'action="/follows/(\d+)/accept"', page)
    assert found
    resp = await _post(bob, f"/follows/{found.group(1)}/accept", {}, "/follows")
    assert resp.status_code == 302
    await drain(a, b)
    assert await follow_rows(a) == [(ALICE, BOB, True)]

    # bob's followers-only note reaches alice's timeline on her instance.
    resp = await _post(bob, "/notes", {"content": "garden *meeting* at 8",
                                      "visibility": "followers"}, "/timeline")
    assert resp.status_code == 302
    await drain(a, b)
    page = await text(await alice.get("/timeline"))
    assert "garden <em>meeting</em> at 8" in page
    # She likes it from her timeline; bob's instance counts it.
    note_id = re.search(r'name="object" value="(http://localhost:8002/users/bob/notes/[^"]+)"',
                        page).group(1)
    resp = await _post(alice, "/notes/react", {"action": "like", "object": note_id}, "/timeline")
    assert resp.status_code == 302
    await drain(a, b)
    page = await text(await bob.get("/timeline"))
    assert 'aria-pressed="false">Vind ik leuk <span class="count">1</span>' in page

    # Unfollow with the profile button.
    resp = await _post(alice, "/@bob@localhost:8002/unfollow", {}, "/follows")
    assert resp.status_code == 302
    await drain(a, b)
    assert await follow_rows(a) == [] and await follow_rows(b) == []
