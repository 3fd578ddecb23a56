"""Web Push in the browser: the VAPID key, (un)subscribing, and the push settings page.

``/push/vapid-public-key`` gives the key a browser needs for ``pushManager.subscribe``;
``/push/subscribe`` and ``/push/unsubscribe`` take the subscription JSON that
``fedi/static/js/push.js`` posts (with the CSRF token in ``X-CSRF-Token``).
``/settings/push`` switches the push channel on or off, per notification kind. The rules
live in ``fedi.domain.push``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, flash, g, jsonify, request, url_for

from fedi.domain import notifications, push
from fedi.domain.errors import ServiceError
from fedi.http.web.auth import ViewResult, go, login_required
from fedi.http.web.initiatives import notification_kind_labels
from fedi.http.web.render import _, render
from fedi.state import get_state

blueprint = Blueprint("push_pages", __name__)


@blueprint.get("/push/vapid-public-key")
async def vapid_public_key() -> Response:
    """The instance's VAPID public key (base64url), as ``{"publicKey": ...}``."""
    state = get_state()
    async with state.db.session() as db:
        vapid = await push.load_vapid(db)
    response = jsonify({"publicKey": push.vapid_public_key(vapid)})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def _json_body() -> dict[str, Any]:
    data = await request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


@blueprint.post("/push/subscribe")
@login_required
async def subscribe() -> ViewResult:
    """Store the posted ``PushSubscription`` JSON for the logged-in person."""
    state = get_state()
    data = await _json_body()
    try:
        async with state.db.session() as db:
            await push.subscribe(db, state.settings, g.user.actor, data)
    except ServiceError as exc:
        response = jsonify({"error": _(exc.message)})
        response.status_code = 400
        return response
    response = jsonify({"subscribed": True})
    response.status_code = 201
    return response


@blueprint.post("/push/unsubscribe")
@login_required
async def unsubscribe() -> ViewResult:
    """Forget the posted endpoint's subscription of the logged-in person."""
    state = get_state()
    data = await _json_body()
    async with state.db.session() as db:
        removed = await push.unsubscribe(db, g.user.actor, str(data.get("endpoint") or ""))
    return jsonify({"unsubscribed": removed})


@blueprint.route("/settings/push", methods=["GET", "POST"])
@login_required
async def push_settings() -> ViewResult:
    """Push on this browser (the script's button), the channel switch, and per kind."""
    state = get_state()
    if request.method == "POST":
        form = await request.form
        off = {kind for kind in notifications.KINDS if form.get(f"{kind}-push") != "on"}
        async with state.db.session() as db:
            await push.set_choice(
                db, g.user.actor, enabled=form.get("enabled") == "on", disabled_kinds=off
            )
        await flash(_("Your push settings have been saved."), "success")
        return go(url_for("push_pages.push_settings"))
    async with state.db.session() as db:
        choice = await push.choice_of(db, g.user.actor_id)
        browsers = len(await push.subscriptions_of(db, g.user.actor, browsers_only=True))
    return await render(
        "push/settings.html", choice=choice, browsers=browsers,
        kinds=notifications.KINDS, labels=notification_kind_labels(),
    )


@blueprint.post("/settings/push/test")
@login_required
async def test_push() -> ViewResult:
    """Send a test push to every browser of the logged-in person."""
    state = get_state()
    async with state.db.session() as db:
        made = await push.queue_test_push(
            db, state.settings, g.user.actor, state.translator.gettext
        )
    if made:
        await flash(_("A test notification is on its way."), "success")
    else:
        await flash(_("No browser receives your push notifications yet."), "error")
    return go(url_for("push_pages.push_settings"))
