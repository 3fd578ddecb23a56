"""Instance administration in the browser: registrations, invitations and accounts.

Only admins get here (others get 403, logged-out visitors the login page). The rules
(the last admin keeps the role, nobody disables themselves) live in the accounts service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from quart import Blueprint, Response, abort, flash, g, request

from fedi.domain import accounts, audit, domain_blocks
from fedi.domain.account_deletion import admin_delete_account
from fedi.domain.account_suspension import suspend_account, unsuspend_account
from fedi.domain.errors import ServiceError
from fedi.http.web.auth import Page, ViewResult, field_errors, go, login_redirect, no_store
from fedi.http.web.render import _, render
from fedi.settings import REGISTRATION_MODES
from fedi.state import get_state

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
V = TypeVar("V", bound=Callable[..., Awaitable[Any]])


def admin_required(view: V) -> V:
    """Only for admins: 403 for other people, the login page for visitors."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return login_redirect()
        if not g.user.is_admin:
            abort(403)
        return await view(*args, **kwargs)

    return cast(V, wrapper)


def _mode_label(mode: str) -> str:
    return {
        "open": _("Open: anyone can join at once"),
        "approval": _("Approval: an admin approves every registration"),
        "invite": _("Invitation only: people need an invitation link"),
    }[mode]


async def _overview(status: int = 200, **extra: Any) -> Page:
    state = get_state()
    async with state.db.session() as db:
        counts = await accounts.count_users(db)
        mode = await accounts.get_registration_mode(db, state.settings)
        pending = await accounts.list_users(db, pending=True, limit=100)
    context: dict[str, Any] = {
        "counts": counts, "mode": mode, "pending": pending, "errors": {}, "invite_link": None,
        "modes": [(m, _mode_label(m)) for m in REGISTRATION_MODES],
    }
    context.update(extra)
    return await render("admin/index.html", status=status, **context)


@blueprint.get("/")
@admin_required
async def index() -> ViewResult:
    """The admin overview: numbers, registration mode, pending people, invitations."""
    return await _overview()


@blueprint.post("/registration")
@admin_required
async def registration_mode() -> ViewResult:
    """Change how people can join."""
    form = await request.form
    try:
        async with get_state().db.session() as db:
            mode = await accounts.set_registration_mode(db, form.get("mode", ""), acting=g.user)
    except ServiceError as exc:
        return await _overview(status=exc.status, errors=field_errors(exc))
    await flash(_("Registration is now: %(mode)s.", mode=_mode_label(mode)), "success")
    return go("/admin/")


@blueprint.post("/invites")
@admin_required
async def create_invite() -> ViewResult:
    """Create an invitation link; it is shown once on the page that follows."""
    form = await request.form
    try:
        uses = int(form.get("max_uses", "1") or "1")
        days = int(form.get("days", "7") or "7")
    except ValueError:
        errors = {"max_uses": _("Please enter whole numbers.")}
        return await _overview(status=400, errors=errors)
    try:
        async with get_state().db.session() as db:
            link = await accounts.create_invite(
                db, get_state().settings, g.user, max_uses=uses, expires_in_days=days,
                note=form.get("note", ""),
            )
    except ServiceError as exc:
        return await _overview(status=exc.status, errors=field_errors(exc))
    return no_store(await _overview(invite_link=link))


async def _user_action(action: Callable[[Any], Awaitable[Any]], done: str) -> Response:
    """Run one account action, flash its outcome and go back to where the button was."""
    try:
        async with get_state().db.session() as db:
            await action(db)
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
    else:
        await flash(done, "success")
    form = await request.form
    back = form.get("back", "")
    return go("/admin/users" if back == "users" else "/admin/")


@blueprint.post("/users/<username>/approve")
@admin_required
async def approve(username: str) -> Response:
    """Let a pending registration in."""
    return await _user_action(
        lambda db: accounts.approve_user(db, username, acting=g.user),
        _("%(name)s has been approved.", name=username),
    )


@blueprint.post("/users/<username>/reject")
@admin_required
async def reject(username: str) -> Response:
    """Refuse a pending registration (the account is deleted)."""
    return await _user_action(
        lambda db: accounts.reject_user(db, username, acting=g.user),
        _("The registration of %(name)s has been rejected.", name=username),
    )


@blueprint.post("/users/<username>/disable")
@admin_required
async def disable(username: str) -> Response:
    """Disable an account: no more logins, sessions end, tokens stop working."""
    return await _user_action(
        lambda db: accounts.set_disabled(db, username, True, acting=g.user),
        _("%(name)s has been disabled.", name=username),
    )


@blueprint.post("/users/<username>/enable")
@admin_required
async def enable(username: str) -> Response:
    """Enable a disabled account again."""
    return await _user_action(
        lambda db: accounts.set_disabled(db, username, False, acting=g.user),
        _("%(name)s has been enabled.", name=username),
    )


@blueprint.post("/users/<username>/delete")
@admin_required
async def delete_user(username: str) -> Response:
    """Delete an account at once, with the same effects as when its owner does it."""
    settings = get_state().settings
    return await _user_action(
        lambda db: admin_delete_account(db, settings, username, acting=g.user),
        _("The account of %(name)s has been deleted.", name=username),
    )


@blueprint.post("/users/<username>/suspend")
@admin_required
async def suspend_user(username: str) -> Response:
    """Suspend an account (issue 12): reversible, and other servers are told."""
    settings = get_state().settings
    reason = (await request.form).get("reason", "")
    return await _user_action(
        lambda db: suspend_account(db, settings, username, acting=g.user, reason=reason),
        _("%(name)s has been suspended.", name=username),
    )


@blueprint.post("/users/<username>/unsuspend")
@admin_required
async def unsuspend_user(username: str) -> Response:
    """Lift a suspension; other servers show the account again."""
    settings = get_state().settings
    return await _user_action(
        lambda db: unsuspend_account(db, settings, username, acting=g.user),
        _("The suspension of %(name)s has been lifted.", name=username),
    )


@blueprint.post("/users/<username>/admin")
@admin_required
async def make_admin(username: str) -> Response:
    """Give someone the admin role."""
    return await _user_action(
        lambda db: accounts.set_admin(db, username, True, acting=g.user),
        _("%(name)s is now an admin.", name=username),
    )


@blueprint.post("/users/<username>/unadmin")
@admin_required
async def remove_admin(username: str) -> Response:
    """Take the admin role away (never from the last admin)."""
    return await _user_action(
        lambda db: accounts.set_admin(db, username, False, acting=g.user),
        _("%(name)s is no longer an admin.", name=username),
    )


@blueprint.post("/users/<username>/reset-link")
@admin_required
async def reset_link(username: str) -> ViewResult:
    """Create a password reset link for someone; shown once."""
    state = get_state()
    try:
        async with state.db.session() as db:
            link = await accounts.create_reset_link(db, state.settings, username, acting=g.user)
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
        return go("/admin/users")
    return no_store(await _users_page(reset_link=link, reset_for=username))


PAGE_SIZE = 100


async def _users_page(**extra: Any) -> Page:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    async with get_state().db.session() as db:
        users = await accounts.list_users(db, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    context: dict[str, Any] = {
        "users": users[:PAGE_SIZE], "page": page, "has_more": len(users) > PAGE_SIZE,
        "reset_link": None, "reset_for": None,
    }
    context.update(extra)
    return await render("admin/users.html", **context)


@blueprint.get("/users")
@admin_required
async def users() -> ViewResult:
    """Every local account, with buttons to disable/enable and give/take the admin role."""
    return await _users_page()


# ---------------------------------------------------------------- domain blocks


async def _domains_page(status: int = 200, errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None) -> Page:
    async with get_state().db.session() as db:
        blocks = await domain_blocks.list_blocks(db)
    return await render("admin/domains.html", status=status, blocks=blocks,
                        errors=errors or {}, values=values or {})


@blueprint.get("/domains")
@admin_required
async def domains() -> ViewResult:
    """The servers this instance refuses, and a form to block one more."""
    return await _domains_page()


@blueprint.post("/domains")
@admin_required
async def block_domain() -> ViewResult:
    """Block a domain for the whole instance."""
    form = await request.form
    values = {"domain": form.get("domain", "")[:300], "reason": form.get("reason", "")[:1000]}
    state = get_state()
    try:
        async with state.db.session() as db:
            block = await domain_blocks.block_domain(
                db, state.settings, values["domain"], reason=values["reason"], acting=g.user
            )
    except ServiceError as exc:
        return await _domains_page(status=exc.status, errors=field_errors(exc), values=values)
    await flash(_("%(domain)s is blocked.", domain=block.domain), "success")
    return go("/admin/domains")


@blueprint.post("/domains/unblock")
@admin_required
async def unblock_domain() -> ViewResult:
    """Lift a domain block."""
    form = await request.form
    domain = form.get("domain", "")
    try:
        async with get_state().db.session() as db:
            await domain_blocks.unblock_domain(db, domain, acting=g.user)
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
    else:
        await flash(_("%(domain)s is no longer blocked.", domain=domain), "success")
    return go("/admin/domains")


# ---------------------------------------------------------------- audit log

AUDIT_PAGE_SIZE = 50


def _action_labels() -> dict[str, str]:
    """A readable name for every recorded action (in the person's language)."""
    return {
        "user.approve": _("Registration approved"),
        "user.reject": _("Registration rejected"),
        "user.disable": _("Account disabled"),
        "user.enable": _("Account enabled"),
        "user.admin_grant": _("Admin role given"),
        "user.admin_revoke": _("Admin role taken away"),
        "user.reset_link": _("Password reset link created"),
        "user.delete": _("Account deleted"),
        "user.suspend": _("Account suspended"),
        "user.unsuspend": _("Suspension lifted"),
        "invite.create": _("Invitation created"),
        "registration.mode": _("Registration mode changed"),
        "tribe.creation_mode": _("Who may create tribes changed"),
        "domain.block": _("Server blocked"),
        "domain.unblock": _("Server unblocked"),
        "tribe.block": _("Blocked in a tribe"),
        "tribe.unblock": _("Block lifted in a tribe"),
        "tribe.member_remove": _("Removed from a tribe"),
        "tribe.role": _("Tribe role changed"),
        "tribe.held_post": _("Held post decided"),
        "tribe.report_resolve": _("Report resolved"),
    }


@blueprint.get("/audit")
@admin_required
async def audit_log() -> ViewResult:
    """Every moderation and administration action, newest first, filtered by action."""
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    action = request.args.get("action", "")
    if action not in audit.ACTIONS:
        action = ""
    async with get_state().db.session() as db:
        entries = await audit.list_audit(
            db, action=action or None, limit=AUDIT_PAGE_SIZE + 1,
            offset=(page - 1) * AUDIT_PAGE_SIZE,
        )
    labels = _action_labels()
    return await render(
        "admin/audit.html", entries=entries[:AUDIT_PAGE_SIZE], page=page, action=action,
        has_more=len(entries) > AUDIT_PAGE_SIZE, labels=labels,
        actions=[(name, labels[name]) for name in audit.ACTIONS],
    )
