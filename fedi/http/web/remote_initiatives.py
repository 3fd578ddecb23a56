"""Starting an initiative in a tribe on another server (a local person who joined it).

``GET /initiatives/start?tribe=name@host`` finds the remote ``Group`` (WebFinger), makes its
remote tribe row here (``remote_tribes.ensure_remote_tribe``) and sends the person to the
ordinary "new initiative" form of that tribe. The form then creates the initiative here
(we host its ``Page``) and its ``InitiativeCreated`` event sends ``Create{Page}`` to the tribe's
server, which applies its own rules and announces it (FEP-1b12).
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request, url_for

from fedi.domain.remote_tribes import ensure_remote_tribe, may_start_in_remote_tribe
from fedi.domain.tribes import find_tribe_by_actor
from fedi.federation.remote.actors import ActorUnavailable, resolve_handle
from fedi.http.web.auth import login_required
from fedi.state import get_state

blueprint = Blueprint("remote_initiatives", __name__)


@blueprint.get("/initiatives/start")
@login_required
async def start() -> Response:
    """Resolve ``?tribe=`` and redirect to its new-initiative form (404/403 otherwise)."""
    handle = (request.args.get("tribe") or "").strip()
    if not handle or len(handle) > 300:
        abort(404)
    state = get_state()
    async with state.db.session() as db:
        try:
            group = await resolve_handle(state, db, handle)
        except ActorUnavailable:
            abort(404)
        if group.type != "Group":
            abort(404)
        if group.local:

            local = await find_tribe_by_actor(db, group)
            if local is None:
                abort(404)
            slug = local.slug
        else:
            tribe = await ensure_remote_tribe(db, group)
            me = await db.merge(g.user.actor)
            if not await may_start_in_remote_tribe(db, tribe, me):
                abort(403)
            slug = tribe.slug
    return redirect(url_for("initiatives.new", slug=slug), 303)  # type: ignore[return-value]
