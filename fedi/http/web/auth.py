"""Registration, login, logout, the account page, password change and reset links.

The routes only read forms and show results; every rule is in ``fedi.domain.accounts``.
Forms re-render with the entered values (never passwords) and per-field errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from quart import Blueprint, Response, flash, g, redirect, request
from sqlalchemy import func, select

from fedi.domain import accounts, oauth, ratelimit, tribe_invites
from fedi.domain.account_deletion import delete_account
from fedi.domain.account_mail import send_email_confirmation
from fedi.domain.errors import Forbidden, RateLimited, ServiceError
from fedi.domain.names import normalise_name
from fedi.http.web.render import _, current_locale, render
from fedi.http.web.session import cookie_name, end_other_sessions, end_session, start_session
from fedi.i18n import SUPPORTED_LOCALES
from fedi.state import get_state
from models import LoginSession, User, utcnow

blueprint = Blueprint("auth", __name__)

# Where a person lands after registering: the profile editor (built by the profiles area;
# linked by path because its endpoint name is not ours to rely on).
PROFILE_EDIT_PATH = "/settings/profile"

Page = tuple[str, int]
ViewResult = Page | Response
V = TypeVar("V", bound=Callable[..., Awaitable[Any]])


# ------------------------------------------------------------------ helpers shared with admin


def client_ip() -> str:
    """The address of the browser, for rate limits.

    Behind a reverse proxy every request comes from the proxy; with
    ``FEDI_TRUST_FORWARDED_FOR`` the last ``X-Forwarded-For`` entry (the one our own proxy
    appended, which a client cannot forge) is used instead.
    """
    if get_state().settings.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return (request.remote_addr or "unknown")[:64]


def go(location: str) -> Response:
    """A 302 redirect (``quart.redirect`` is typed as returning Werkzeug's response class)."""
    return cast(Response, redirect(location))


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme or parts.netloc or not target.startswith("/")
        or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


def field_errors(error: ServiceError) -> dict[str, str]:
    """A ``{field: translated message}`` dict; errors without a field go under ``_form``."""
    return {error.field or "_form": _(error.message, **error.values)}


def login_redirect() -> Response:
    """Send a logged-out visitor to the login page, coming back here afterwards."""
    path = request.full_path if request.query_string else request.path
    return go("/login?next=" + quote(path, safe="/"))


def login_required(view: V) -> V:
    """Only for logged-in people; others go to the login page first."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return login_redirect()
        return await view(*args, **kwargs)

    return cast(V, wrapper)


async def too_many(exc: RateLimited) -> Response:
    """The 429 page for a rate limit, with ``Retry-After`` when the limit knows it."""
    body, status = await render("error.html", status=429, message=_(exc.message),
                                status_code=429)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    if isinstance(exc, ratelimit.LimitReached):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def give_back(*tickets: ratelimit.Ticket) -> None:
    """Return rate-limit slots taken for an attempt the limit does not count."""
    async with get_state().db.session() as db:
        for ticket in tickets:
            await ratelimit.give_back(db, ticket)


def no_store(page: Page) -> Response:
    """A page that shows a secret (a new token, a link): never cached."""
    body, status = page
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------ login and logout


@blueprint.route("/login", methods=["GET", "POST"])
async def login() -> ViewResult:
    """Log in with name (or e-mail address) and password."""
    next_path = safe_next(request.args.get("next"))
    if request.method == "GET":
        if g.user is not None:
            return go(next_path)
        return await render("auth/login.html", values={}, errors={}, next=next_path)
    form = await request.form
    next_path = safe_next(form.get("next"))
    login_name = form.get("login", "").strip()[:320]
    password = form.get("password", "")
    values = {"login": login_name}
    state = get_state()
    ip = client_ip()
    account_key = normalise_name(login_name) or "-"
    # Both slots are taken atomically BEFORE the password is hashed, so concurrent guesses
    # cannot all pass a check that only later records them.
    try:
        async with state.db.session() as db:
            ip_ticket = await ratelimit.take(db, ratelimit.LOGIN_PER_IP, ip)
            account_ticket = await ratelimit.take(db, ratelimit.LOGIN_PER_ACCOUNT, account_key)
    except RateLimited as exc:
        return await too_many(exc)
    try:
        async with state.db.session() as db:
            user = await accounts.authenticate(db, login_name, password)
            # Only failed attempts count: a person who logs in often is never locked out,
            # while guessing stops after ten tries per address and per account name.
            await ratelimit.reset(db, ratelimit.LOGIN_PER_ACCOUNT, account_key)
            await ratelimit.give_back(db, ip_ticket)
            # Tribe invitations sent to this e-mail address become the person's own.
            await tribe_invites.claim_email_invites(db, state.settings, user.actor, user.email)
    except Forbidden as exc:
        # The password was right; the account is pending or disabled. Not a failed guess.
        await give_back(ip_ticket, account_ticket)
        return await render(
            "auth/login.html", status=403, values=values, errors=field_errors(exc),
            next=next_path,
        )
    except ServiceError as exc:
        return await render(
            "auth/login.html", status=400, values=values, errors=field_errors(exc),
            next=next_path,
        )
    response = go(next_path)
    await start_session(user, response)
    _remember_locale(response, user.locale)
    await flash(_("Welcome back, %(name)s!", name=user.actor.name), "success")
    return response


def _remember_locale(response: Response, locale: str | None) -> None:
    """Make the person's saved language the one of this browser too."""
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(
            cookie_name("fedi_lang"), str(locale), max_age=365 * 24 * 3600, samesite="Lax",
            secure=get_state().settings.secure, httponly=True, path="/",
        )


@blueprint.post("/logout")
async def logout() -> Response:
    """Log out of this browser."""
    response = go("/")
    await end_session(response)
    await flash(_("You are logged out."), "success")
    return response


# ------------------------------------------------------------------ registration


async def _registration_context(invite_token: str) -> dict[str, Any]:
    state = get_state()
    async with state.db.session() as db:
        mode = await accounts.get_registration_mode(db, state.settings)
        invite_ok = bool(invite_token) and await accounts.find_invite(db, invite_token) is not None
    return {"mode": mode, "invite": invite_token, "invite_ok": invite_ok}


@blueprint.route("/register", methods=["GET", "POST"])
async def register() -> ViewResult:
    """Join the instance (open, with approval, or with an invitation)."""
    if g.user is not None:
        return go("/")
    if request.method == "GET":
        context = await _registration_context(request.args.get("invite", "")[:200])
        return await render("auth/register.html", values={}, errors={}, **context)
    form = await request.form
    context = await _registration_context(form.get("invite", "")[:200])
    values = {
        "username": form.get("username", "").strip()[:64],
        "email": form.get("email", "").strip()[:320],
        "reason": form.get("reason", "").strip()[:2000],
    }
    password = form.get("password", "")
    state = get_state()
    ip = client_ip()
    # A slot is taken atomically before the account is made and handed back when the form
    # fails: the limit counts accounts created (fixing typos costs nothing), and concurrent
    # sign-ups cannot all slip past it. FEDI_REGISTRATIONS_PER_IP_PER_HOUR sets it.
    limit = ratelimit.register_limit(state.settings.registrations_per_ip_per_hour)
    try:
        async with state.db.session() as db:
            ticket = await ratelimit.take(db, limit, ip)
    except RateLimited as exc:
        # The form comes back with what was typed (never the password) and the reason, so a
        # resident at a busy sign-up evening on one Wi-Fi tries again later without retyping.
        errors = {"username": _(
            "Many people have registered from this network in the last hour. Please wait a "
            "few minutes and try again; what you typed is kept."
        )}
        body, status = await render("auth/register.html", status=429, values=values,
                                    errors=errors, **context)
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
        if isinstance(exc, ratelimit.LimitReached):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if password != form.get("password_confirm", ""):
        await give_back(ticket)
        errors = {"password_confirm": _("The two passwords are not the same.")}
        return await render("auth/register.html", status=400, values=values, errors=errors,
                            **context)
    try:
        async with state.db.session() as db:
            user = await accounts.register(
                db, state.settings, username=values["username"], email=values["email"],
                password=password, invite_token=context["invite"] or None,
                reason=values["reason"], locale=current_locale(),
            )
            # E-mail (issue 12): a link that confirms the address; login does not wait for it.
            await send_email_confirmation(db, state.settings, user)
            if user.approved:
                await tribe_invites.claim_email_invites(
                    db, state.settings, user.actor, user.email
                )
    except ServiceError as exc:
        await give_back(ticket)
        return await render("auth/register.html", status=exc.status, values=values,
                            errors=field_errors(exc), **context)
    if not user.approved:
        return await render("auth/pending.html", name=user.actor.username)
    response = go(PROFILE_EDIT_PATH)
    await start_session(user, response)
    await flash(
        _("Welcome, %(name)s! Tell the others a little about yourself.", name=user.actor.username),
        "success",
    )
    return response


# ------------------------------------------------------------------ account page


async def _account_page(status: int = 200, **extra: Any) -> Page:
    state = get_state()
    async with state.db.session() as db:
        tokens = await accounts.list_tokens(db, g.user)
        # Apps connected through OAuth (issue 14), each with its own disconnect button.
        connected_apps = await oauth.authorised_apps(db, g.user)
        session_count = await db.scalar(
            select(func.count(LoginSession.id)).where(
                LoginSession.user_id == g.user.id, LoginSession.expires_at > utcnow()
            )
        )
    context: dict[str, Any] = {
        "tokens": tokens, "session_count": session_count or 0, "errors": {}, "new_token": None,
        "token_label": "", "oauth_apps": connected_apps,
    }
    context.update(extra)
    return await render("auth/account.html", status=status, **context)


@blueprint.get("/account")
@login_required
async def account() -> ViewResult:
    """The account overview: e-mail, language, password, API tokens, sessions."""
    return no_store(await _account_page())


@blueprint.post("/account/password")
@login_required
async def change_password() -> ViewResult:
    """Change the password; every other session of the account ends."""
    form = await request.form
    new = form.get("password", "")
    if new != form.get("password_confirm", ""):
        errors = {"password_confirm": _("The two passwords are not the same.")}
        return no_store(await _account_page(status=400, errors=errors))
    # The current password is checked with Argon2: a stolen session may guess it only slowly.
    try:
        async with get_state().db.session() as db:
            ticket = await ratelimit.take(
                db, ratelimit.PASSWORD_CHANGE_PER_ACCOUNT, str(g.user.id)
            )
    except RateLimited as exc:
        return await too_many(exc)
    try:
        async with get_state().db.session() as db:
            await accounts.change_password(db, g.user, form.get("current_password", ""), new)
            await ratelimit.give_back(db, ticket)
    except ServiceError as exc:
        return no_store(await _account_page(status=exc.status, errors=field_errors(exc)))
    await end_other_sessions(g.user.id, g.login_session.id if g.login_session else None)
    await flash(_("Your password has been changed. You were logged out everywhere else."),
                "success")
    return go("/account")


@blueprint.post("/account/language")
@login_required
async def set_language() -> ViewResult:
    """Save the preferred language on the account (and in this browser)."""
    form = await request.form
    locale = form.get("locale", "")
    try:
        async with get_state().db.session() as db:
            await accounts.set_locale(db, g.user, locale)
    except ServiceError as exc:
        return no_store(await _account_page(status=exc.status, errors=field_errors(exc)))
    g.locale = locale
    response = go("/account")
    _remember_locale(response, locale)
    await flash(_("Your language has been saved."), "success")
    return response


@blueprint.post("/account/tokens")
@login_required
async def create_token() -> ViewResult:
    """Create an API token; it is shown on this one page and never again."""
    form = await request.form
    label = form.get("label", "").strip()
    try:
        async with get_state().db.session() as db:
            token = await accounts.create_token(db, g.user.actor.username, label)
    except ServiceError as exc:
        return no_store(
            await _account_page(status=exc.status, errors=field_errors(exc), token_label=label)
        )
    return no_store(await _account_page(new_token=token))


@blueprint.post("/account/tokens/<int:token_id>/revoke")
@login_required
async def revoke_token(token_id: int) -> ViewResult:
    """Revoke one of the person's own API tokens."""
    try:
        async with get_state().db.session() as db:
            await accounts.revoke_token_by_id(db, g.user, token_id)
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
        return go("/account")
    await flash(_("The token has been revoked."), "success")
    return go("/account")


@blueprint.post("/account/delete")
@login_required
async def delete_own_account() -> ViewResult:
    """Delete the account at once, confirmed with the password (fedi.domain.account_deletion)."""
    form = await request.form
    # Rate-limited like a password change: a stolen session may guess the password slowly.
    try:
        async with get_state().db.session() as db:
            ticket = await ratelimit.take(
                db, ratelimit.PASSWORD_CHANGE_PER_ACCOUNT, str(g.user.id)
            )
    except RateLimited as exc:
        return await too_many(exc)
    state = get_state()
    try:
        async with state.db.session() as db:
            user = await db.get(User, g.user.id)
            if user is None:
                return login_redirect()
            await delete_account(db, state.settings, user, form.get("delete_password", ""))
    except ServiceError as exc:
        return no_store(await _account_page(status=exc.status, errors=field_errors(exc)))
    async with state.db.session() as db:
        await ratelimit.give_back(db, ticket)
    response = go("/")
    await end_session(response)
    await flash(_("Your account has been deleted."), "success")
    return response


# ------------------------------------------------------------------ password reset links


@blueprint.route("/reset/<token>", methods=["GET", "POST"])
async def reset(token: str) -> ViewResult:
    """Set a new password with a one-time link from an admin."""
    state = get_state()
    # Only wrong links count (someone guessing tokens); a valid one hands its slot back.
    try:
        async with state.db.session() as db:
            ticket = await ratelimit.take(db, ratelimit.RESET_PER_IP, client_ip())
    except RateLimited as exc:
        return await too_many(exc)
    async with state.db.session() as db:
        valid = await accounts.valid_reset_token(db, token) is not None
        if valid:
            await ratelimit.give_back(db, ticket)
    if not valid:
        message = _(
            "This reset link is not valid (any more). Ask for a new one on the login page."
        )
        return await render("error.html", status=404, message=message, status_code=404)
    if request.method == "GET":
        return no_store(await render("auth/reset.html", errors={}, token=token))
    form = await request.form
    password = form.get("password", "")
    if password != form.get("password_confirm", ""):
        errors = {"password_confirm": _("The two passwords are not the same.")}
        return no_store(await render("auth/reset.html", status=400, errors=errors, token=token))
    try:
        async with state.db.session() as db:
            await accounts.reset_password(db, token, password)
    except ServiceError as exc:
        return no_store(await render("auth/reset.html", status=exc.status,
                                     errors=field_errors(exc), token=token))
    response = go("/login")
    # This browser may hold a session of the account; it has ended like every other one.
    response.delete_cookie(cookie_name("fedi_session"), path="/")
    await flash(_("Your new password is set. You can log in with it now."), "success")
    return response
