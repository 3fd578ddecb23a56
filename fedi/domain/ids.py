"""Fresh ids for what our actors create: activities and notes.

The domain mints them when it writes a row that keeps the id (a ``Follow``, a ``Reaction``,
a note), so the federation layer sends the activity under the id the row already names.
"""

from __future__ import annotations

import uuid

from fedi.settings import Settings

__all__ = ["new_activity_id", "new_object_id"]


def new_activity_id(settings: Settings, kind: str = "") -> str:
    """A fresh id for an activity we publish: ``{base}/activities/{uuid4}``.

    ``kind`` is accepted for readability at call sites; it is not part of the URL, so an id
    never has to change when an activity is re-typed.
    """
    return settings.url(f"/activities/{uuid.uuid4()}")


def new_object_id(settings: Settings, actor_username: str) -> str:
    """A fresh id for a note (or other object) by a local actor."""
    return settings.url(f"/users/{actor_username}/notes/{uuid.uuid4().hex}")
