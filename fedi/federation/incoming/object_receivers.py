"""The table of receivers for objects arriving in a ``Create``, by object type.

``incoming.notes.receive_create`` checks the activity (the object must live on the sender's host; a
bare id is fetched from its origin) and then hands the object to the receiver registered
for its type. Notes register every type they show as a post (``domain.notes.NOTE_TYPES``:
Note, Article, Page, Question, Image, Video, Audio, Document, Event); other features
(initiatives as ``Page``, tasks as ``Ticket``) register their own without editing notes::

    from fedi.federation.incoming.object_receivers import register_object_receiver

    @register_object_receiver("Page")
    async def receive_page(db, state, sender, activity, doc):
        ...

A receiver returns what it stored (anything not None), or None when the object is not for
us (the inbound handler then marks the activity ignored). The last registration for a type
wins; built-in defaults are registered with ``default=True`` so they never replace one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.normalize import Malformed, types_of
from fedi.state import AppState
from models import Actor

# (db, state, sender, activity, object document) -> what was stored, or None
ObjectReceiver = Callable[
    [AsyncSession, AppState, Actor, dict[str, Any], dict[str, Any]], Awaitable[Any]
]

OBJECT_RECEIVERS: dict[str, ObjectReceiver] = {}


def register_object_receiver(
    *types: str, default: bool = False
) -> Callable[[ObjectReceiver], ObjectReceiver]:
    """Register the decorated coroutine as the receiver of ``Create`` for these object types.

    With ``default=True`` an existing registration is kept (used by the built-in note
    receiver, so a feature that registered ``Page`` first is not overridden).
    """

    def register(receiver: ObjectReceiver) -> ObjectReceiver:
        for kind in types:
            if default:
                OBJECT_RECEIVERS.setdefault(kind, receiver)
            else:
                OBJECT_RECEIVERS[kind] = receiver
        return receiver

    return register


def receiver_for(doc: dict[str, Any]) -> ObjectReceiver | None:
    """The receiver for the first type of ``doc`` that has one, or None.

    ``type`` may be an array (``["Note", "Article"]``, valid AS2) and may spell a type in
    full (``as:Note``, ``https://www.w3.org/ns/activitystreams#Note``): the normaliser's
    reading is used, so every spelling reaches the same receiver.
    """
    try:
        kinds = types_of(doc.get("type"))
    except Malformed:
        return None
    for kind in kinds:
        if kind in OBJECT_RECEIVERS:
            return OBJECT_RECEIVERS[kind]
    return None
