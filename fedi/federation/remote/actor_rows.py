"""Remote actor documents as rows of the actors table: reading one, upserting it.

No network here (``fedi.federation.remote.actors`` fetches); the federation runtime uses it to
store the actor behind a newly fetched signature key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, host_of, id_of
from fedi.dbutil import insert_ignore
from fedi.domain.matching import sync_remote_talents
from fedi.federation.documents.moves import remote_move_values
from fedi.settings import Settings
from fedi.text import sanitize_remote_html
from models import Actor, utcnow

__all__ = ["ActorUnavailable", "actor_values", "upsert_actor_document"]


class ActorUnavailable(Exception):
    """A remote actor could not be fetched or is not usable; ``gone`` when it was deleted.

    ``permanent`` when asking again cannot help (gone, refused by the URL policy, not an
    actor, claims our host): the inbox worker then does not retry.
    """

    def __init__(self, message: str, *, gone: bool = False, permanent: bool = False) -> None:
        """Create the error; ``gone`` marks a 404/410 from the origin."""
        super().__init__(message)
        self.gone = gone
        self.permanent = permanent or gone


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _url_of(value: Any) -> str | None:
    # "url" may be a string, a Link, or a list of either (Mastodon sends a string, PeerTube a
    # list of Links with several media types): take the first http(s) href.
    for entry in as_list(value):
        href = id_of(entry)
        if href and href.startswith(("https://", "http://")):
            return href[:2048]
    return None


def _icon_of(doc: dict[str, Any]) -> str | None:
    for entry in as_list(doc.get("icon")):
        if isinstance(entry, dict):
            found = _url_of(entry.get("url"))
            if found:
                return found
        elif isinstance(entry, str):
            return _url_of(entry)
    return None


def _main_key(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    for entry in as_list(doc.get("publicKey")):
        if isinstance(entry, dict) and entry.get("owner") == doc.get("id"):
            pem = entry.get("publicKeyPem")
            if isinstance(entry.get("id"), str) and isinstance(pem, str):
                return entry["id"], pem
    return None, None


def actor_values(doc: dict[str, Any]) -> dict[str, Any]:
    """The actors-table columns for a remote actor document (already validated)."""
    ap_id = str(doc["id"])
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    key_id, pem = _main_key(doc)
    kind = next((t for t in as_list(doc.get("type")) if isinstance(t, str)), "Person")
    username = _text(doc.get("preferredUsername"), 255) or ap_id.rstrip("/").rsplit("/", 1)[-1]
    shared = id_of(endpoints.get("sharedInbox")) if endpoints else None
    return {
        "ap_id": ap_id,
        "type": kind[:32],
        "local": False,
        "username": username[:255],
        "domain": host_of(ap_id),
        "display_name": _text(doc.get("name"), 255),
        "bio_html": sanitize_remote_html(_text(doc.get("summary"), 20_000)),
        "inbox": id_of(doc.get("inbox")) or "",
        "shared_inbox": shared,
        "outbox": id_of(doc.get("outbox")),
        "followers_url": id_of(doc.get("followers")),
        "following_url": id_of(doc.get("following")),
        "key_id": key_id,
        "public_key_pem": pem,
        "icon_url": _icon_of(doc),
        "url": _url_of(doc.get("url")),
        "manually_approves_followers": doc.get("manuallyApprovesFollowers") is True,
        "discoverable": doc.get("discoverable") is not False,
        "raw": doc,
        "fetched_at": utcnow(),
        "gone_at": None,
        # Moves and suspension (issue 12): fedi.federation.documents.moves.
        **remote_move_values(doc),
    }


async def upsert_actor_document(db: AsyncSession, settings: Settings, doc: dict[str, Any]) -> Actor:
    """Insert or update the remote actor described by ``doc`` and return its row.

    The caller must have fetched ``doc`` from its own id's origin (the Fetcher checks that).
    Actors on our own host are never overwritten from outside.
    """
    values = actor_values(doc)
    if values["domain"] == settings.host:
        raise ActorUnavailable(f"{values['ap_id']} claims to be a local actor", permanent=True)
    actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
    if actor is None:
        # Two workers may fetch the same new actor at once; the loser just reads it back.
        # No conflict target: a taken (username, domain) must not raise either.
        await db.execute(
            insert_ignore(db, Actor, None).values(languages=[], links=[], **values)
        )
        actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
        if actor is None:  # (username, domain) is taken by another id
            stale = await db.scalar(
                select(Actor).where(
                    Actor.username == values["username"], Actor.domain == values["domain"]
                )
            )
            if stale is None or stale.local:
                raise ActorUnavailable(f"cannot store actor {values['ap_id']}", permanent=True)
            if stale.type == values.get("type"):
                # The same handle under a new id (an account that moved its id): the row
                # follows the handle.
                actor = stale
            else:
                # Lemmy: a person /u/main and a community /c/main share the name "main" on
                # one host. The handle column is unique per host, so the second kind keeps
                # its name with its type marked; everything else finds actors by id.
                values["username"] = f"{values['username']}~{str(values.get('type')).lower()}"
                await db.execute(
                    insert_ignore(db, Actor, None).values(languages=[], links=[], **values)
                )
                actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
                if actor is None:
                    raise ActorUnavailable(
                        f"cannot store actor {values['ap_id']}", permanent=True
                    )
    if values["username"] != actor.username and await db.scalar(
        select(Actor.id).where(
            Actor.username == values["username"],
            Actor.domain == values["domain"],
            Actor.id != actor.id,
        )
    ):
        # Renamed to a handle another actor holds (see above): keep the name it has.
        values["username"] = actor.username
    for key, value in values.items():
        setattr(actor, key, value)
    await db.flush()
    # Talents travel as Hashtag tags on the actor; copying them lets talent matching
    # suggest remote people for tasks ("who could help").
    await sync_remote_talents(db, actor)
    return actor
