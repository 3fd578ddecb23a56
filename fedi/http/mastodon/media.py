"""Media uploads: ``POST /api/v2/media`` (and v1), then ``media_ids`` on a new status.

An upload is checked and stored by ``fedi.domain.media`` exactly like a picture on a tribe
or an initiative: its type is read from its first bytes (PNG, JPEG, GIF, WebP; SVG and
everything else refused), at most ``FEDI``'s image size. It stays the uploader's own until a
status is posted with it. Files are stored at once, so v2 answers 200 with the ``url`` set
(Mastodon answers 202 while it transcodes; apps handle both).
"""

from __future__ import annotations

import struct
from typing import Any

from quart import Response, request
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import media as media_files
from fedi.domain.errors import ServiceError
from fedi.http.mastodon.common import ApiBlueprint, ApiError, api_json, api_params, api_user
from fedi.http.mastodon.status_entity import media_entity
from fedi.state import get_state
from models import Actor, MediaAttachment

blueprint = ApiBlueprint("mastodon_media", __name__)

MAX_DESCRIPTION = 1500


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG from its header, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            length = struct.unpack(">H", data[index + 2:index + 4])[0]
            # Start-of-frame markers carry the size (not DHT 0xC4, JPG 0xC8, DAC 0xCC).
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return int(width), int(height)
            index += 2 + length
    return None


def _focus(value: str) -> tuple[float, float]:
    """Mastodon's focal point ``"x,y"`` (each in -1..1); anything else is the centre."""
    try:
        x_text, y_text = value.split(",", 1)
        x, y = float(x_text), float(y_text)
    except ValueError:
        return 0.0, 0.0
    return max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))


async def _upload() -> Response:
    state = get_state()
    settings = state.settings
    params = await api_params()
    files = await request.files
    upload = files.get("file")
    if upload is None:
        raise ApiError(422, "Validation failed: File can't be blank")
    data = upload.read()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:media",))
    try:
        media_files.check_image(data, settings.max_avatar_bytes, field="file")
        relative = media_files.store_image(settings, "images", data, settings.max_avatar_bytes)
    except ServiceError as exc:
        raise ApiError(422, f"Validation failed: {exc}") from exc
    # The stored file is re-encoded and maybe shrunk (or a still GIF became PNG): describe it.
    stored = media_files.upload_path(settings, relative)
    size = image_size(stored.read_bytes()) if stored is not None else image_size(data)
    focus_x, focus_y = _focus(params.str("focus"))
    async with state.db.session() as db:
        row = MediaAttachment(
            actor_id=me.id, path=relative, media_type=media_files.media_type_of(relative),
            description=params.str("description")[:MAX_DESCRIPTION],
            focus_x=focus_x, focus_y=focus_y,
            width=size[0] if size else None, height=size[1] if size else None,
        )
        db.add(row)
        await db.flush()
        return api_json(media_entity(settings, row))


@blueprint.post("/api/v2/media")
async def upload_v2() -> Response:
    """Upload a file (``file``, ``description``, ``focus``)."""
    return await _upload()


@blueprint.post("/api/v1/media")
async def upload_v1() -> Response:
    """The older upload endpoint, the same as v2 here."""
    return await _upload()


async def _own(db: AsyncSession, me: Actor, media_id: str) -> MediaAttachment:
    row = await db.get(MediaAttachment, int(media_id)) if media_id.isdigit() else None
    if row is None or row.actor_id != me.id:
        raise ApiError(404, "Record not found")
    return row


@blueprint.get("/api/v1/media/<media_id>")
async def show_media(media_id: str) -> Response:
    """One of one's uploads (apps poll it until processing is done: it always is)."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:media",))
        return api_json(media_entity(state.settings, await _own(db, me, media_id)))


@blueprint.put("/api/v1/media/<media_id>")
async def update_media(media_id: str) -> Response:
    """Change an upload's description or focal point (before it is posted)."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:media",))
        row = await _own(db, me, media_id)
        changes: dict[str, Any] = {}
        if "description" in params:
            changes["description"] = params.str("description")[:MAX_DESCRIPTION]
        if "focus" in params:
            changes["focus_x"], changes["focus_y"] = _focus(params.str("focus"))
        for name, value in changes.items():
            setattr(row, name, value)
        await db.flush()
        return api_json(media_entity(state.settings, row))
