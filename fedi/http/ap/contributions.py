"""A contribution's id: ``/initiatives/<n>/contributions/<m>`` serves its ``Contribution``.

The ``Offer`` of a contribution names this id as its ``object``; a client that offered over
C2S, a partner deciding, or a server confirming at the origin can read it. Visible to whoever
may see the initiative (public: everyone; restricted: a signed fetch or a bearer token of
someone who may see it, see ``fedi.federation.audience.may_fetch``), otherwise 404. A
contribution offered on another server (its id is there) redirects there with 302, like the
other parts of a copy. Only GET and HEAD: other methods answer 405.
"""

from __future__ import annotations

from quart import Blueprint, Response, redirect

from activitypub.vocab import default_context
from fedi.domain.initiative_access import find_initiative
from fedi.federation.audience import may_fetch
from fedi.federation.documents.actors import namespace_url
from fedi.federation.outgoing.initiatives import contribution_document
from fedi.http.ap.actors import activity_json_response, json_not_found
from fedi.http.ap.objects import bad_token, signed_viewer
from fedi.http.web.csrf import csrf_exempt
from fedi.state import get_state
from models import Contribution, Task

blueprint = Blueprint("ap_contributions", __name__)

PATH = "/initiatives/<int:initiative_id>/contributions/<int:contribution_id>"


@blueprint.get(PATH)
async def contribution(initiative_id: int, contribution_id: int) -> Response:
    """The ``Contribution`` JSON (for browsers too: there is no page of its own)."""
    state = get_state()
    async with state.db.session() as db:
        refused = await bad_token(db)
        if refused is not None:
            return refused
        initiative = await find_initiative(db, initiative_id)
        row = await db.get(Contribution, contribution_id)
        if (
            initiative is None or initiative.deleted_at is not None or row is None
            or row.initiative_id != initiative.id
        ):
            return json_not_found()
        if initiative.visibility != "public" and not await may_fetch(
            db, state, initiative, await signed_viewer(db)
        ):
            return json_not_found()
        here = state.settings.url(f"/initiatives/{initiative_id}/contributions/{contribution_id}")
        if row.ap_id and row.ap_id != here:
            moved = redirect(row.ap_id, 302)
            return moved  # type: ignore[return-value]
        task = await db.get(Task, row.task_id)
        doc = {
            "@context": default_context(namespace_url(state.settings)),
            **contribution_document(initiative, row, task.ap_id if task and task.ap_id else ""),
        }
        response = activity_json_response(doc)
        if initiative.visibility != "public":
            response.headers["Cache-Control"] = "private"
        return response


@blueprint.route(PATH, methods=["POST", "PUT", "PATCH", "DELETE"])
@csrf_exempt
async def not_allowed(initiative_id: int, contribution_id: int) -> Response:
    """Read-only: changes are activities posted to the outbox."""
    response = Response(
        b'{"error": "method not allowed"}', status=405, content_type="application/json"
    )
    response.headers["Allow"] = "GET, HEAD"
    return response
