"""Serving uploaded files (avatars, images) from the uploads folder.

Only names of the exact shape the upload code creates (``avatars/<32 hex>.png``) are
served, with the content type taken from the extension we chose after checking the magic
bytes, ``nosniff`` and a sandboxing CSP, so an upload can never act as a page of ours.
Stored names are random and never reused, so browsers may cache them for a year.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from quart import Blueprint, Response, abort

from fedi.domain.media import media_type_of, upload_path
from fedi.state import get_state

blueprint = Blueprint("media", __name__)

CACHE_CONTROL = "public, max-age=31536000, immutable"


@blueprint.get("/media/<path:relative>")
async def serve(relative: str) -> Response:
    """Send one stored upload, or 404."""
    settings = get_state().settings
    path = upload_path(settings, relative)
    if path is None:
        abort(404)
    data = await asyncio.to_thread(_read, path)
    if data is None:
        abort(404)
    response = Response(data, content_type=media_type_of(relative))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    # Other servers' web clients show our avatars.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _read(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist (read off the event loop)."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
