"""Small status-related endpoints apps call on start-up or from a status: a hashtag, a poll,
and the lists this instance keeps empty (conversations, scheduled statuses).

Answering them keeps apps from showing errors: Tusky and Ivory load conversations for
their direct-message tab, Elk opens ``/api/v1/tags/:name`` for a hashtag's page.
"""

from __future__ import annotations

import re

from quart import Response

from fedi.http.mastodon import status_ids
from fedi.http.mastodon.common import ApiBlueprint, ApiError, api_json, api_user, optional_api_user
from fedi.http.mastodon.status_entity import StatusItem, render_status
from fedi.http.mastodon.status_queries import may_see
from fedi.state import get_state
from models import ApObject

blueprint = ApiBlueprint("mastodon_status_extras", __name__)

TAG_NAME = re.compile(r"^[\w]{1,64}$", re.UNICODE)


@blueprint.get("/api/v1/tags/<name>")
async def show_tag(name: str) -> Response:
    """A hashtag (``following`` is always false: following hashtags is not built)."""
    clean = name.lstrip("#").lower()
    if not TAG_NAME.match(clean):
        raise ApiError(404, "Record not found")
    return api_json({
        "name": clean,
        "url": get_state().settings.url(f"/tags/{clean}"),
        "history": [],
        "following": False,
    })


@blueprint.get("/api/v1/polls/<poll_id>")
async def show_poll(poll_id: str) -> Response:
    """A poll of a stored ``Question`` (another server's poll), read-only. Polls of this
    instance belong to tribes and initiatives and are answered on their pages."""
    state = get_state()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        note = await db.get(ApObject, int(poll_id)) if poll_id.isdigit() else None
        if note is None or note.deleted_at is not None or note.type != "Question":
            raise ApiError(404, "Record not found")
        item = StatusItem(status_ids.NOTE, note=note)
        if not await may_see(db, viewer, item):
            raise ApiError(404, "Record not found")
        entity = await render_status(db, state.settings, viewer, item)
    if entity is None or entity["poll"] is None:
        raise ApiError(404, "Record not found")
    return api_json(entity["poll"])


@blueprint.get("/api/v1/conversations")
async def conversations() -> Response:
    """Direct-message conversations: always an empty list for now (direct messages are in
    the home timeline and the notifications)."""
    state = get_state()
    async with state.db.session() as db:
        await api_user(db, scopes=("read:statuses",))
    return api_json([])


@blueprint.get("/api/v1/scheduled_statuses")
async def scheduled_statuses() -> Response:
    """Scheduled statuses: none (scheduling is not built)."""
    state = get_state()
    async with state.db.session() as db:
        await api_user(db, scopes=("read:statuses",))
    return api_json([])
