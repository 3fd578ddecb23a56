"""A poll's ``Question`` served at its id, ``/polls/<id>``.

ActivityPub clients get the ``Question`` (Mastodon fetches it when a boost or a reply
names it, and to refresh its counts); browsers are sent to the page that shows the poll.
A cancelled or deleted poll answers 410 with a ``Tombstone``. A poll about an initiative
that is not public is served only to a fetch signed by someone who may see the initiative
(404 otherwise, hiding that it exists).
"""

from __future__ import annotations

from typing import cast

from quart import Blueprint, Response, redirect, url_for

from activitypub.builders import build_tombstone
from fedi.domain import polls
from fedi.domain.initiative_access import can_view
from fedi.federation.documents.polls import question_document
from fedi.http.ap.actors import activity_json_response, json_not_found, wants_activity_json
from fedi.http.ap.objects import signed_viewer
from fedi.state import get_state
from models import Initiative, Poll

blueprint = Blueprint("ap_polls", __name__)


@blueprint.get("/polls/<int:poll_id>")
async def question(poll_id: int) -> Response:
    """The poll's ``Question`` (JSON), or a redirect to its page for a browser."""
    state = get_state()
    async with state.db.session() as db:
        poll = await db.get(Poll, poll_id)
        if poll is None or not poll.local:
            return json_not_found()
        if not wants_activity_json():
            if poll.initiative_id is not None:
                target = url_for("polls.initiative_polls", initiative_id=poll.initiative_id)
            else:
                target = url_for("polls.tribe_polls_by_id", tribe_id=poll.tribe_id or 0)
            return cast(Response, redirect(target, 303))
        if poll.deleted_at is not None:
            return activity_json_response(
                build_tombstone(poll.ap_id or "", "Question", poll.deleted_at), status=410
            )
        initiative = await db.get(Initiative, poll.initiative_id) if poll.initiative_id else None
        if initiative is not None and initiative.visibility != "public":
            viewer = await signed_viewer(db)
            if viewer is None or viewer.id < 0 or not await can_view(db, initiative, viewer):
                return json_not_found()
        # The lazy close: a poll whose time ran out is served (and sent) as closed.
        await polls.ensure_closed(db, state.settings, poll)
        document = await question_document(db, state.settings, poll)
    return activity_json_response(document)
