"""Serving our meetups as ActivityStreams ``Event`` documents at their ids.

``{base}/events/<key>`` is both the page and the Event id: the web route
(``fedi.http.web.meetups``) hands ActivityPub requests here. Meetups are public; a deleted
one answers 410 with a ``Tombstone``; a remote meetup's JSON lives at its origin, so asking
us for it redirects there.
"""

from __future__ import annotations

from quart import Response, redirect
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_tombstone
from fedi.domain.meetups import accepted_count
from fedi.federation.documents.meetups import event_context, event_document
from fedi.http.ap.actors import activity_json_response
from fedi.settings import Settings
from models import Meetup

__all__ = ["event_response"]


async def event_response(db: AsyncSession, settings: Settings, meetup: Meetup) -> Response:
    """The ``Event`` JSON of ``meetup`` (410 Tombstone when deleted, 302 for a remote one)."""
    if not meetup.local:
        return redirect(meetup.ap_id)  # type: ignore[return-value]
    if meetup.deleted_at is not None:
        tombstone = build_tombstone(meetup.ap_id, "Event", meetup.deleted_at)
        tombstone["@context"] = event_context(settings)
        return activity_json_response(tombstone, status=410)
    document = event_document(settings, meetup, await accepted_count(db, meetup))
    response = activity_json_response(document)
    response.headers["Cache-Control"] = "public, max-age=30"
    return response
