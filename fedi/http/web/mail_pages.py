"""Pages reached from e-mail: "forgot password", address confirmation, unsubscribing.

The rules live in ``fedi.domain.account_mail`` and ``fedi.domain.mail_unsubscribe``; these
routes read forms and answer. The "forgot password" form answers the same page for every
name, known or not, so it cannot be used to find out who has an account here.
"""

from __future__ import annotations

from quart import Blueprint, Response, flash, g, request

from fedi.domain import account_mail, mail_unsubscribe, ratelimit
from fedi.domain.errors import NotFound, RateLimited
from fedi.http.web.auth import ViewResult, client_ip, go, login_required, no_store, too_many
from fedi.http.web.csrf import csrf_exempt
from fedi.http.web.initiatives import notification_kind_labels
from fedi.http.web.render import _, render
from fedi.state import get_state
from models import User

blueprint = Blueprint("mail_pages", __name__)


@blueprint.route("/forgot", methods=["GET", "POST"])
async def forgot() -> ViewResult:
    """Ask for a password reset link by mail, with a name or an e-mail address."""
    if request.method == "GET":
        return await render("auth/forgot.html", values={}, errors={}, sent=False)
    form = await request.form
    login = form.get("login", "").strip()[:320]
    state = get_state()
    # Per address: the form cannot be used to flood inboxes. (Per account: in the service,
    # silently, so the answer stays the same for every name.)
    try:
        async with state.db.session() as db:
            await ratelimit.take(db, ratelimit.RESET_MAIL_PER_IP, client_ip())
    except RateLimited as exc:
        return await too_many(exc)
    if login:
        async with state.db.session() as db:
            await account_mail.request_password_reset(db, state.settings, login)
    return no_store(await render("auth/forgot.html", values={}, errors={}, sent=True))


@blueprint.get("/confirm-email/<token>")
async def confirm_email(token: str) -> ViewResult:
    """Confirm an e-mail address with the link from the confirmation mail."""
    state = get_state()
    try:
        async with state.db.session() as db:
            user = await account_mail.confirm_email(db, state.settings, token[:200])
    except NotFound as exc:
        return await render("error.html", status=404, message=_(exc.message), status_code=404)
    if g.user is not None and g.user.id == user.id:
        g.user.email_confirmed_at = user.email_confirmed_at
    await flash(_("Thank you, your e-mail address is confirmed."), "success")
    return go("/account" if g.user is not None else "/login")


@blueprint.post("/account/confirm-email")
@login_required
async def resend_confirmation() -> ViewResult:
    """Send the confirmation mail again (a few times an hour at most)."""
    state = get_state()
    try:
        async with state.db.session() as db:
            await ratelimit.take(db, ratelimit.CONFIRM_MAIL_PER_ACCOUNT, str(g.user.id))
            user = await db.get(User, g.user.id)
            if user is not None and user.email_confirmed_at is None:
                await account_mail.send_email_confirmation(db, state.settings, user)
    except RateLimited as exc:
        return await too_many(exc)
    await flash(_("We sent the confirmation mail again."), "success")
    return go("/account")


@blueprint.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf_exempt
async def unsubscribe(token: str) -> ViewResult:
    """Stop mails of one kind: a page with a button, or RFC 8058's one-click POST.

    GET only shows the button (link scanners in mail systems open links); POST switches
    off. The signed link itself is the proof, so the POST needs no CSRF token (mail
    programs send none).
    """
    state = get_state()
    try:
        async with state.db.session() as db:
            if request.method == "POST":
                _user, kind = await mail_unsubscribe.unsubscribe(db, state.settings, token)
            else:
                _user, kind = await mail_unsubscribe.resolve_unsubscribe(
                    db, state.settings, token
                )
    except NotFound as exc:
        return await render("error.html", status=404, message=_(exc.message), status_code=404)
    form = await request.form if request.method == "POST" else None
    if form is not None and form.get("List-Unsubscribe") == "One-Click":
        return Response("", status=200)
    label = notification_kind_labels().get(kind, kind)
    return await render(
        "auth/unsubscribe.html", token=token, kind_label=label, done=form is not None
    )
