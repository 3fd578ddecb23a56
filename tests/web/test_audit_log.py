"""Admin actions taken in the browser land in the audit log, which /admin shows and keeps."""

from __future__ import annotations

import re
from typing import Any

from account_helpers import login, make_user, post_form, text
from sqlalchemy import select
from tribe_helpers import make_tribe

from fedi.domain import audit, domain_blocks
from fedi.http.web.admin import AUDIT_PAGE_SIZE
from fedi.state import FediApp
from models import AuditEntry


async def entries(app: FediApp) -> list[AuditEntry]:
    """Every audit entry, oldest first."""
    async with app.state.db.session() as db:
        return list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def shown_actions(page: str) -> list[str]:
    """The actions of the rows on the audit page, top to bottom."""
    return re.findall(r'class="audit-entry" data-action="([^"]+)"', page)


async def test_admin_actions_are_recorded_and_shown(app: FediApp, client: Any) -> None:
    boss = await make_user(app, "boss", is_admin=True)
    await make_user(app, "alice")
    await make_user(app, "spammer", approved=False, reason="buy things")
    await login(client, "boss")

    await post_form(client, "/admin/", "/admin/registration", {"mode": "approval"})
    await post_form(client, "/admin/users", "/admin/users/alice/disable", {"back": "users"})
    await post_form(client, "/admin/users", "/admin/users/alice/enable", {"back": "users"})
    await post_form(client, "/admin/users", "/admin/users/alice/admin", {"back": "users"})
    await post_form(client, "/admin/", "/admin/users/spammer/reject", {})
    await post_form(client, "/admin/domains", "/admin/domains",
                    {"domain": "troll.example", "reason": "harassment of residents"})
    await post_form(client, "/admin/domains", "/admin/domains/unblock",
                    {"domain": "troll.example"})
    # Refused actions leave no entry: boss cannot disable themselves.
    refused = await post_form(client, "/admin/users", "/admin/users/boss/disable", {})
    assert refused.status_code == 302

    rows = await entries(app)
    assert [row.action for row in rows] == [
        "registration.mode", "user.disable", "user.enable", "user.admin_grant", "user.reject",
        "domain.block", "domain.unblock",
    ]
    assert {row.actor_id for row in rows} == {boss.actor_id}
    assert {row.actor_label for row in rows} == {"boss"}
    assert rows[0].details == {"old": "", "new": "approval"}
    assert rows[1].target_type == "user" and rows[1].target_label == "alice"
    # The rejected account is gone; its entry keeps the name and what it had written.
    assert rows[4].target_label == "spammer"
    assert rows[4].details["registration_reason"] == "buy things"
    assert rows[5].target_label == "troll.example"
    assert rows[5].reason == "harassment of residents"

    page = await text(await client.get("/admin/audit"))
    assert shown_actions(page) == [row.action for row in reversed(rows)]
    assert "harassment of residents" in page and "spammer" in page
    assert "Server geblokkeerd" in page  # the Dutch label of domain.block

    only_blocks = await text(await client.get("/admin/audit?action=domain.block"))
    assert shown_actions(only_blocks) == ["domain.block"]


async def test_command_line_actions_and_tribe_moderation_are_recorded(
    app: FediApp, client: Any
) -> None:
    await make_user(app, "boss", is_admin=True)
    await login(client, "boss")
    # Services called without a person (as the ``fedi`` command line does) record nobody.
    async with app.state.db.session() as db:
        await domain_blocks.block_domain(db, app.state.settings, "spam.example", reason="spam")
    await make_tribe(app, "plein", "boss")
    await post_form(client, "/tribes/plein/moderation", "/tribes/plein/moderation/blocks",
                    {"kind": "domain", "value": "bad.example", "reason": "raids"})
    rows = await entries(app)
    assert [row.action for row in rows] == ["domain.block", "tribe.block"]
    assert rows[0].actor_id is None and rows[0].actor_label == ""
    assert rows[1].actor_label == "boss@localhost:8000"
    assert rows[1].target_label == "plein" and rows[1].details == {"domain": "bad.example"}
    assert rows[1].reason == "raids"
    page = await text(await client.get("/admin/audit"))
    assert "opdrachtregel" in page and "bad.example" in page


async def test_audit_page_is_paginated_and_only_for_admins(app: FediApp, client: Any) -> None:
    await make_user(app, "boss", is_admin=True)
    await make_user(app, "resident")
    async with app.state.db.session() as db:
        for number in range(AUDIT_PAGE_SIZE + 3):
            await audit.record_audit(
                db, "domain.block", by=None, target=audit.Target("domain", f"d{number}.example"),
            )
    await login(client, "boss")
    first = await text(await client.get("/admin/audit"))
    assert len(shown_actions(first)) == AUDIT_PAGE_SIZE
    assert "page=2" in first
    second = await text(await client.get("/admin/audit?page=2"))
    assert len(shown_actions(second)) == 3
    # Newest first: the last recorded is on top of page 1, the first at the end of page 2.
    assert first.index(f"d{AUDIT_PAGE_SIZE + 2}.example") < first.index(
        f"d{AUDIT_PAGE_SIZE + 1}.example"
    )
    assert "d0.example" in second

    other = app.test_client()
    await login(other, "resident")
    assert (await other.get("/admin/audit")).status_code == 403


async def test_who_may_create_tribes_is_recorded(app: FediApp, client: Any) -> None:
    await make_user(app, "boss", is_admin=True)
    await login(client, "boss")
    await post_form(client, "/admin/tribes", "/admin/tribes", {"tribe_creation": "admins"})
    rows = await entries(app)
    assert [(row.action, row.actor_label, row.details) for row in rows] == [
        ("tribe.creation_mode", "boss", {"old": "", "new": "admins"}),
    ]
    page = await text(await client.get("/admin/audit"))
    assert "Wie tribes mag maken gewijzigd" in page
