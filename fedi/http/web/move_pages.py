"""The account-move settings page (FEP-7628): aliases, and moving to another account.

``/settings/move`` shows the person's aliases (other accounts of theirs, by handle: this is
how someone moves *to* this server) and the form to move this account to another one. The
handles are looked up (WebFinger and the actor's current document) before the change is
written, with no transaction open across the lookups; the rules live in
``fedi.domain.account_move``.
"""

from __future__ import annotations

from quart import Blueprint, flash, g, request, url_for

from activitypub.fetcher import FetchError
from fedi.domain import account_move
from fedi.domain.errors import ServiceError
from fedi.federation.remote.actor_rows import upsert_actor_document
from fedi.federation.remote.actors import ActorUnavailable, resolve_handle, webfinger_lookup
from fedi.federation.runtime import get_federation
from fedi.http.web.auth import ViewResult, field_errors, go, login_required
from fedi.http.web.render import _, render
from fedi.state import get_state
from models import Actor

blueprint = Blueprint("move_pages", __name__)


async def _page(
    status: int = 200, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> ViewResult:
    state = get_state()
    async with state.db.session() as db:
        person = await db.get(Actor, g.user.actor_id)
        aliases = list(person.also_known_as or []) if person else []
        moved_to = person.moved_to if person else None
    shown = {"aliases": "\n".join(aliases), "target": "", **(values or {})}
    return await render(
        "move/settings.html", status=status, aliases=aliases, moved_to=moved_to,
        values=shown, errors=errors or {},
    )


async def _lookup(handle: str, field: str) -> Actor:
    """The account at ``handle`` (``name@host``, or an actor id), with its current document.

    A remote one is looked up (WebFinger) and fetched fresh with no session open (its
    aliases must be current: a move is only honoured when they list the old account), then
    stored; a local one is read from the table.
    """
    state = get_state()
    settings = state.settings
    handle = handle.strip().removeprefix("acct:")
    if "@" not in handle.lstrip("@") and not handle.startswith(("http://", "https://")):
        handle = f"{handle.lstrip('@')}@{settings.host}"
    missing = ServiceError(
        "Nobody was found at %(handle)s.", field=field, handle=handle.lstrip("@")
    )
    local = handle.startswith(("http://", "https://")) and settings.is_local_id(handle)
    if not local and not handle.startswith(("http://", "https://")):
        local = handle.lstrip("@").rpartition("@")[2].lower() == settings.host
    if local:
        try:
            async with state.db.session() as db:
                actor = await resolve_handle(state, db, handle)
                db.expunge(actor)
                return actor
        except ActorUnavailable as exc:
            raise missing from exc
    try:
        actor_id = handle if handle.startswith("http") else await webfinger_lookup(state, handle)
        document = await get_federation(state).fetcher.fetch_actor(actor_id)
    except (ActorUnavailable, FetchError) as exc:
        raise missing from exc
    try:
        async with state.db.session() as db:
            actor = await upsert_actor_document(db, settings, document)
            db.expunge(actor)
    except ActorUnavailable as exc:
        raise missing from exc
    if actor.key_id:  # a new key in the document replaces the one we cached
        get_federation(state).key_cache.forget(actor.key_id)
    return actor


# What a moved account may still do: log out, read its move page, leave, take its data.
_ALLOWED_AFTER_MOVE = (
    "/logout", "/settings/move", "/settings/export", "/account/delete", "/account/language",
    "/account/password", "/push/",
)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def refuse_changes_after_move() -> ViewResult | None:
    """Refuse every change by a logged-in person whose account moved (403), as Mastodon
    disables a moved account; reading, logging out, export and deletion stay possible."""
    user = getattr(g, "user", None)
    if user is None or request.method not in _UNSAFE or not user.actor.moved_to:
        return None
    if request.path.startswith(_ALLOWED_AFTER_MOVE):
        return None
    return await render(
        "error.html", status=403, status_code=403,
        message=_("This account has moved to %(target)s. It is read-only now.",
                  target=user.actor.moved_to),
    )


@blueprint.get("/settings/move")
@login_required
async def move_settings() -> ViewResult:
    """The aliases and the move form."""
    return await _page()


@blueprint.post("/settings/aliases")
@login_required
async def save_aliases() -> ViewResult:
    """Set the other accounts of the logged-in person (one handle per line)."""
    state = get_state()
    form = await request.form
    text = form.get("aliases", "")[:4000]
    handles = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        found = [await _lookup(handle, "aliases") for handle in handles[:20]]
        async with state.db.session() as db:
            person = await db.get(Actor, g.user.actor_id)
            assert person is not None
            await account_move.set_aliases(
                db, state, person, [await db.merge(actor) for actor in found]
            )
    except ServiceError as exc:
        return await _page(400, values={"aliases": text}, errors=field_errors(exc))
    await flash(_("Your aliases have been saved."), "success")
    return go(url_for("move_pages.move_settings"))


@blueprint.post("/settings/move")
@login_required
async def move_account() -> ViewResult:
    """Move the logged-in person's account to the account at the given handle."""
    state = get_state()
    form = await request.form
    handle = form.get("target", "")[:400]
    try:
        if not handle.strip():
            raise ServiceError("Fill in an address like name@example.org.", field="target")
        target = await _lookup(handle, "target")
        async with state.db.session() as db:
            await account_move.move_away(
                db, state, g.user, await db.merge(target), form.get("move_password", "")
            )
    except ServiceError as exc:
        return await _page(400, values={"target": handle}, errors=field_errors(exc))
    await flash(_("Your account has moved. Your followers here follow your new account."),
                "success")
    return go(url_for("move_pages.move_settings"))
