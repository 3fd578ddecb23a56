"""Your data: download an archive of everything about you, and import a follow list.

``/settings/export`` builds the ZIP of ``fedi.federation.documents.archive`` into a
temporary file (never the whole archive in memory) and sends it as an attachment.
``/settings/import`` takes a Mastodon ``following_accounts.csv`` and follows every account
in it through the follow service (``fedi.federation.remote.follow_import``), showing the
outcome of each row.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import IO

from quart import Blueprint, Response, abort, g, request

from fedi.domain import ratelimit
from fedi.domain.errors import RateLimited
from fedi.federation.documents.archive import collect_archive, write_archive
from fedi.federation.remote import follow_import
from fedi.http.web.auth import Page, login_required, too_many
from fedi.http.web.render import _, render
from fedi.state import get_state
from models import Actor, utcnow

blueprint = Blueprint("your_data", __name__)

CHUNK = 64 * 1024
# Both build work in proportion to a person's history or list: a few an hour is plenty.
EXPORTS_PER_ACCOUNT = ratelimit.Limit("export-account", 5, timedelta(hours=1))
IMPORTS_PER_ACCOUNT = ratelimit.Limit("follow-import-account", 10, timedelta(hours=1))

OUTCOME_LABELS = {
    follow_import.FOLLOWED: "Followed",
    follow_import.REQUESTED: "Follow request sent",
    follow_import.ALREADY: "Already following (or asked)",
    follow_import.NOT_FOUND: "Not found",
    follow_import.REFUSED: "Refused",
    follow_import.DUPLICATE: "Listed twice",
    follow_import.OVER_LIMIT: "Over the limit of one import",
    follow_import.TIMED_OUT: "Not reached in time; import the file again",
}


@blueprint.get("/settings/export")
@login_required
async def export_page() -> Page:
    """The page with the download button."""
    return await render("your_data/export.html")


@blueprint.post("/settings/export")
@login_required
async def export_archive() -> Response:
    """Build the archive of the logged-in person and send it as a ZIP attachment."""
    state = get_state()
    try:
        async with state.db.session() as db:
            await ratelimit.take(db, EXPORTS_PER_ACCOUNT, str(g.user.actor_id))
    except RateLimited as exc:
        return await too_many(exc)
    async with state.db.session() as db:
        actor = await db.get(Actor, g.user.actor_id)
        if actor is None:
            abort(404)
        archive = await collect_archive(db, state.settings, actor)
    index_html, _status = await render("your_data/archive_index.html", archive=archive)
    target = tempfile.TemporaryFile()  # closed (and removed) by _stream
    try:
        await asyncio.to_thread(write_archive, archive, index_html, target)
        size = target.tell()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    name = f"fedi-export-{archive.username}-{utcnow():%Y-%m-%d}.zip"
    return Response(
        _stream(target), mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
            "Cache-Control": "no-store",
        },
    )


async def _stream(target: IO[bytes]) -> AsyncIterator[bytes]:
    """The temporary file in chunks, closed (and so removed) at the end."""
    try:
        while chunk := await asyncio.to_thread(target.read, CHUNK):
            yield chunk
    finally:
        target.close()


@blueprint.route("/settings/import", methods=["GET", "POST"])
@login_required
async def import_follows() -> Page | Response:
    """Upload a follow list (Mastodon's CSV) and follow everyone in it."""
    if request.method == "GET":
        return await render("your_data/import.html", results=None, errors={}, **_limits())
    files = await request.files
    upload = files.get("file")
    data = upload.read(follow_import.MAX_BYTES + 1) if upload is not None else b""
    error = None
    if not data:
        error = _("Choose a CSV file to import.")
    elif len(data) > follow_import.MAX_BYTES:
        error = _("The file is too large.")
    if error:
        return await render(
            "your_data/import.html", status=400, results=None, errors={"file": error},
            **_limits(),
        )
    try:
        async with get_state().db.session() as db:
            await ratelimit.take(db, IMPORTS_PER_ACCOUNT, str(g.user.actor_id))
    except RateLimited as exc:
        return await too_many(exc)
    handles, skipped = follow_import.parse_follow_list(data)
    results = await follow_import.import_follows(get_state(), g.user.actor_id, handles)
    rows = [
        {
            "handle": result.handle,
            "outcome": result.outcome,
            "label": _(OUTCOME_LABELS[result.outcome]),
            "detail": _(result.error.message, **result.error.values) if result.error else "",
        }
        for result in [*results, *skipped]
    ]
    return await render("your_data/import.html", results=rows, errors={}, **_limits())


def _limits() -> dict[str, int]:
    return {"max_rows": follow_import.MAX_ROWS}
