"""A tribe's own outbox for client-to-server: an admin or moderator acting as the tribe.

``POST /tribes/<slug>/outbox`` with the bearer token of one of the tribe's admins or
moderators (anyone else: 403 with a JSON reason; no token: 401). The person acts through
the same services and rights checks as on the tribe's pages; the tribe is implied where an
activity would name it, so a client need not repeat it:

* ``Update{Group}`` (the ``id`` may be left out): edit the tribe (admins);
* ``Invite{object: person}``: invite someone (admins); ``Invite{object: "mailto:..."}``
  or without object (an invitation link), and their ``Undo`` (``outbox_invites``);
* ``Accept``/``Reject`` of a join request (the ``Join``/``Follow`` id or the embedded
  activity) or of a held post (the held ``Create``'s id): approve or decline it (admins
  and moderators);
* ``Block{object: person or domain}``, ``Undo{Block}``, ``Remove{object: post or member}``:
  moderation (admins and moderators; removing a member: admins);
* ``Flag{object: ids}``: a report to the tribe's moderators; ``Accept`` of a ``Flag``:
  mark the report resolved (``outbox_reports``);
* ``Add``/``Remove`` of a member to/from ``<tribe>/moderators``: their role (admins).

Anything else answers 400 naming what is accepted. The answer is ``201 Created`` with the
activity that was published (often the tribe's own, e.g. its ``Update{Group}``).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import ServiceError
from fedi.domain.tokens import authenticate_token
from fedi.domain.tribe_access import role_at_least, role_of
from fedi.http.ap import outbox_invites, outbox_moderation, outbox_reports, outbox_tribes
from fedi.http.ap.groups import find_local_tribe
from fedi.http.ap.outbox import (
    created,
    invalid_token,
    json_error,
    prepare,
    read_document,
    service_error,
)
from fedi.http.ap.outbox_common import BadActivity, named_ids
from fedi.http.web.csrf import csrf_exempt
from fedi.state import AppState, get_state
from models import Actor, OutboxActivity, Tribe

blueprint = Blueprint("c2s_group_outbox", __name__)

ACCEPTED = (
    "Update{Group}, Invite, Undo{Invite}, Accept, Reject, Block, Undo{Block}, Remove, Flag,"
    " Add"
)


@blueprint.post("/tribes/<slug>/outbox")
@csrf_exempt
async def post_group_outbox(slug: str) -> Response:
    """Perform one activity an admin (or moderator) posts to the tribe's outbox."""
    state = get_state()
    read = await read_document(state)
    if isinstance(read, Response):
        return read
    token, document = read
    try:
        await prepare(state, document)
        async with state.db.session() as db:
            user = await authenticate_token(db, token)
            if user is None:
                return invalid_token()
            tribe = await find_local_tribe(db, slug)
            if tribe is None:
                return json_error(404, "no such tribe here")
            person = await db.get(Actor, user.actor_id)
            assert person is not None
            if not role_at_least(await role_of(db, tribe, person), "moderator"):
                return json_error(
                    403, "only the tribe's admins and moderators may post to its outbox"
                )
            row = await _perform(db, state, person, tribe, document)
            answer = created(row)
    except ServiceError as exc:
        return service_error(exc)
    return answer


async def _perform(
    db: AsyncSession, state: AppState, person: Actor, tribe: Tribe, document: dict[str, Any]
) -> OutboxActivity:
    """Dispatch with the tribe filled in where the activity leaves it out."""
    kind = document.get("type")
    group_id = tribe.actor.ap_id
    obj = document.get("object")
    if kind == "Update" and isinstance(obj, dict) and obj.get("type") == "Group":
        if obj.get("id") not in (None, group_id):
            raise BadActivity("this outbox only updates its own tribe")
        return await outbox_tribes.update_group(db, state, person, obj, tribe)
    if kind == "Invite" and outbox_invites.is_mail_or_link_invite(document):
        invited = await outbox_invites.perform(db, state, person, {**document, "target": group_id})
        if invited is not None:
            return invited
    if kind == "Invite":
        return await outbox_tribes.invite(db, state, person, document, tribe)
    if kind in ("Accept", "Reject"):
        resolved = await outbox_reports.perform(db, state, person, document)
        if resolved is not None:
            return resolved
        done = await outbox_tribes.answer(db, state, person, document)
        if done is None:
            raise BadActivity("there is no such request to join this tribe")
        return done
    if kind in ("Block", "Remove", "Flag", "Add"):
        targets = [t for t in named_ids(document.get("target")) if t]
        if any(t != group_id and not t.startswith(group_id + "/") for t in targets):
            raise BadActivity("this outbox only acts on its own tribe")
        document = {**document, "target": targets[0] if targets else group_id}
        done = await outbox_moderation.perform(db, state, person, document)
        if done is not None:
            return done
    if kind == "Undo":
        revoked = await outbox_invites.perform(db, state, person, document)
        if revoked is not None:
            return revoked
    if kind == "Undo" and isinstance(obj, dict) and obj.get("type") == "Block":
        done = await outbox_moderation.undo_block(db, state, person, obj, tribe)
        if done is not None:
            return done
    raise BadActivity("a tribe's outbox accepts %(accepted)s", accepted=ACCEPTED)
