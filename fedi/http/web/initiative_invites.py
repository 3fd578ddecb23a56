"""Inviting people to an initiative by e-mail (issue 12): a form in the initiative's
"Manage" panel for its creator and partners. The rules are in ``fedi.domain.invite_mail``."""

from __future__ import annotations

import re
from typing import cast

from quart import Blueprint, Response, abort, flash, g, redirect, request, url_for

from fedi.domain import invite_mail
from fedi.domain.errors import NotFound, RateLimited, ServiceError
from fedi.domain.initiative_access import get_initiative
from fedi.http.web.auth import login_required
from fedi.http.web.render import _
from fedi.state import get_state

blueprint = Blueprint("initiative_invites", __name__)

_SPLIT = re.compile(r"[\s,;]+")


@blueprint.post("/initiatives/<int:initiative_id>/invite-by-mail")
@login_required
async def invite_by_mail(initiative_id: int) -> Response:
    """Mail an invitation to each address in the form's ``emails`` field."""
    form = await request.form
    addresses = [item for item in _SPLIT.split(form.get("emails", "")[:5000]) if item]
    state = get_state()
    page = url_for("initiatives.show", initiative_id=initiative_id)
    try:
        async with state.db.session() as db:
            initiative = await get_initiative(db, initiative_id)
            sent = await invite_mail.invite_to_initiative(
                db, state.settings, initiative, g.user.actor, addresses
            )
    except NotFound:
        abort(404)
    except RateLimited:
        await flash(_("You sent many invitations in a short time; please try again later."),
                    "error")
        return cast(Response, redirect(page, 303))
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
        return cast(Response, redirect(page, 303))
    await flash(_("Invitations mailed to %(count)s addresses.", count=len(sent)), "success")
    return cast(Response, redirect(page, 303))
