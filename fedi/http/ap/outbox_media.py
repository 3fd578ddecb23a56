"""Client-to-server media: ActivityPub's ``uploadMedia`` endpoint and uploads as references.

``POST /users/<u>/uploadMedia`` (advertised as ``endpoints.uploadMedia`` in the person's
actor document) takes ``multipart/form-data`` with ``file`` (the image) and ``object`` (a
JSON ``Image`` or ``Document`` shadow object; its ``name`` is the description), as the
ActivityPub spec's non-normative section describes. The image is checked and stored by
``fedi.domain.media`` exactly like an upload of the Mastodon API or a picture of a tribe, an
initiative or a profile (PNG, JPEG, GIF, WebP; at most the image size limit), and kept as
the uploader's ``MediaAttachment``. The answer is ``201 Created`` with ``Location`` = the
new ``Image`` object's id (``/users/<u>/media/<n>``), which dereferences for its owner with
their bearer token, and for anyone once it is attached to a post.

That id (or the file's url) may then be used as ``attachment`` of ``Create{Note}``, as
``icon`` of ``Update{Person}``, and as ``image``/``icon`` of ``Create``/``Update`` of a
``Group`` or ``Page``: each goes through the service the web form uses with the file's bytes.
Only one's own uploads may be used (403 otherwise).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from quart import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import AS_CONTEXT, as_list, id_of
from fedi.domain import media as media_files
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.profiles import find_local_person
from fedi.http.ap.actors import ACTIVITY_JSON_UTF8
from fedi.http.ap.objects import bad_token, token_viewer
from fedi.http.web.csrf import csrf_exempt
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor, MediaAttachment

__all__ = [
    "attachment_documents",
    "blueprint",
    "image_document",
    "media_id",
    "own_upload",
    "own_upload_bytes",
    "upload_url",
]

blueprint = Blueprint("c2s_media", __name__)

MAX_DESCRIPTION = 1500
MAX_ATTACHMENTS = 4
_MEDIA_PATH = re.compile(r"/users/[^/]+/media/(\d+)$")


def upload_url(settings: Settings, username: str) -> str:
    """The ``uploadMedia`` endpoint of the local person ``username``."""
    return settings.url(f"/users/{username}/uploadMedia")


def media_id(settings: Settings, owner: Actor, row: MediaAttachment) -> str:
    """The id of an upload's ``Image``/``Document`` object."""
    return settings.url(f"/users/{owner.username}/media/{row.id}")


def image_document(settings: Settings, owner: Actor, row: MediaAttachment) -> dict[str, Any]:
    """An upload as the AS2 object a note carries in ``attachment`` (as Mastodon sends it)."""
    kind = "Image" if row.media_type.startswith("image/") else "Document"
    doc: dict[str, Any] = {
        "id": media_id(settings, owner, row),
        "type": kind,
        "mediaType": row.media_type,
        "url": media_files.media_url(settings, row.path),
        "attributedTo": owner.ap_id,
    }
    if row.description:
        doc["name"] = row.description
    return doc


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(orjson.dumps(payload), status=status, content_type="application/json")


def _description(raw: str | None) -> str:
    """The ``name`` (or ``summary``) of the posted shadow object, the upload's description."""
    if not raw:
        return ""
    try:
        shadow = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(shadow, dict):
        return ""
    for key in ("name", "summary"):
        if isinstance(shadow.get(key), str):
            return str(shadow[key])[:MAX_DESCRIPTION]
    return ""


@blueprint.post("/users/<username>/uploadMedia")
@csrf_exempt
async def upload_media(username: str) -> Response:
    """Store one image posted by the person ``username`` with their bearer token."""
    state = get_state()
    settings = state.settings
    async with state.db.session() as db:
        refused = await bad_token(db)
        if refused is not None:
            return refused
        me = await token_viewer(db)
        if me is None:
            response = _json(401, {"error": "a bearer token is required"})
            response.headers["WWW-Authenticate"] = 'Bearer realm="uploadMedia"'
            return response
        owner = await find_local_person(db, username)
        if owner is None or owner.id != me.id:
            return _json(403, {"error": "this is not your uploadMedia endpoint"})
    files = await request.files
    form = await request.form
    upload = files.get("file")
    if upload is None:
        return _json(400, {"error": "send the image as the multipart field file"})
    # One byte past the limit tells "too large" without buffering more.
    data = upload.read(settings.max_avatar_bytes + 1)
    try:
        media_files.check_image(data, settings.max_avatar_bytes, field="file")
        relative = media_files.store_image(settings, "images", data, settings.max_avatar_bytes)
    except ServiceError as exc:
        return _json(exc.status, {"error": str(exc)})
    async with state.db.session() as db:
        row = MediaAttachment(
            actor_id=me.id, path=relative, media_type=media_files.media_type_of(relative),
            description=_description(form.get("object")),
        )
        db.add(row)
        await db.flush()
        doc = {"@context": AS_CONTEXT, **image_document(settings, me, row)}
    response = Response(orjson.dumps(doc), status=201, content_type=ACTIVITY_JSON_UTF8)
    response.headers["Location"] = doc["id"]
    return response


@blueprint.get("/users/<username>/media/<int:number>")
async def show_media(username: str, number: int) -> Response:
    """An upload's object: for its owner (bearer token), and for all once it is posted."""
    state = get_state()
    async with state.db.session() as db:
        refused = await bad_token(db)
        if refused is not None:
            return refused
        owner = await find_local_person(db, username)
        row = await db.get(MediaAttachment, number)
        if owner is None or row is None or row.actor_id != owner.id:
            return _json(404, {"error": "not found"})
        viewer = await token_viewer(db)
        if row.object_ap_id is None and (viewer is None or viewer.id != owner.id):
            return _json(404, {"error": "not found"})
        doc = {"@context": AS_CONTEXT, **image_document(state.settings, owner, row)}
    return Response(orjson.dumps(doc), status=200, content_type=ACTIVITY_JSON_UTF8)


async def own_upload(
    db: AsyncSession, settings: Settings, owner: Actor, reference: Any
) -> MediaAttachment | None:
    """The upload a reference names (its object id, or the file's url; an object with
    either); None when it names no upload of this server. Somebody else's: ``Forbidden``."""
    refs = [id_of(reference)]
    if isinstance(reference, dict):
        refs += [id_of(u) for u in as_list(reference.get("url"))]
    files_prefix = media_files.media_url(settings, "")
    for ref in refs:
        if not ref or not ref.startswith(settings.base_url):
            continue
        row: MediaAttachment | None = None
        found = _MEDIA_PATH.search(ref)
        if found is not None:
            row = await db.get(MediaAttachment, int(found.group(1)))
        elif ref.startswith(files_prefix):
            row = await db.scalar(
                select(MediaAttachment).where(
                    MediaAttachment.path == ref.removeprefix(files_prefix)
                ).order_by(MediaAttachment.id.desc()).limit(1)
            )
        else:
            continue
        if row is None:
            raise NotFound("This upload does not exist.")
        if row.actor_id != owner.id:
            raise Forbidden("You can only use your own uploads.")
        return row
    return None


async def own_upload_bytes(
    db: AsyncSession, settings: Settings, owner: Actor, reference: Any
) -> bytes | None:
    """The stored bytes of one's own upload, for the services that take an image's bytes
    (a profile's avatar, a tribe's or an initiative's image). None when ``reference`` names
    no upload: a client sending back the document it fetched names the current picture,
    which then stays."""
    row = await own_upload(db, settings, owner, reference)
    if row is None:
        return None
    path = media_files.upload_path(settings, row.path)
    if path is None or not path.is_file():
        raise NotFound("This upload does not exist.")
    return path.read_bytes()


async def attachment_documents(
    db: AsyncSession, settings: Settings, owner: Actor, attachment: Any
) -> tuple[list[dict[str, Any]], list[MediaAttachment]]:
    """The AS2 documents of a note's ``attachment`` naming one's own uploads, and their rows
    (to mark as posted). Entries naming nothing of ours are left out, as before uploads."""
    documents: list[dict[str, Any]] = []
    rows: list[MediaAttachment] = []
    for entry in as_list(attachment):
        row = await own_upload(db, settings, owner, entry)
        if row is None or row in rows:
            continue
        if row.object_ap_id is not None:
            raise ServiceError("This upload is attached to another post.", field="attachment")
        rows.append(row)
        doc = image_document(settings, owner, row)
        doc.pop("attributedTo", None)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            doc["name"] = entry["name"][:MAX_DESCRIPTION]
        documents.append(doc)
    if len(rows) > MAX_ATTACHMENTS:
        raise ServiceError("At most %(max)s attachments.", field="attachment", max=MAX_ATTACHMENTS)
    return documents, rows
