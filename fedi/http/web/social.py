"""The social pages: home timeline, writing notes, likes and boosts, following people.

Every action is a small form (with its CSRF token) posting to a route here, and every
route calls the same services as the C2S outbox and the inbound handlers
(``fedi.domain.follows``, ``notes``, ``reactions``), so the rules exist once.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from fedi.domain import follows, notes, reactions
from fedi.domain.errors import NotFound, ServiceError
from fedi.federation.incoming.posts import get_or_fetch_object
from fedi.federation.remote.actors import ActorUnavailable, resolve_handle
from fedi.federation.remote.mentions import mentioned_actors, resolve_mentions
from fedi.http.web.auth import Page, login_required, safe_next
from fedi.http.web.post_media import post_extras
from fedi.http.web.render import _, render
from fedi.state import get_state
from models import Actor

blueprint = Blueprint("social", __name__)
# Attachments, media and event details under a post's text, in every template.
blueprint.app_template_global("post_extras")(post_extras)

TIMELINE_SIZE = 20
VISIBILITY_LABELS = {
    "public": "Public",
    "unlisted": "Unlisted",
    "followers": "Followers only",
    "direct": "Only the people mentioned",
}


def _message(error: ServiceError) -> str:
    return _(error.message, **error.values)


async def _back(default: str) -> Response:
    form = await request.form
    return redirect(safe_next(form.get("next"), default))


async def _me(db: Any) -> Actor:
    actor = await db.get(Actor, g.user.actor_id)
    if actor is None:  # the account was deleted while logged in
        raise NotFound("This account no longer exists.")
    return actor


# ---------------------------------------------------------------- timeline and notes


@blueprint.get("/timeline")
@login_required
async def timeline() -> Page:
    """The home timeline with the compose form on top."""
    try:
        before = int(request.args["before"]) if "before" in request.args else None
    except ValueError:
        before = None
    state = get_state()
    async with state.db.session() as db:
        me = await _me(db)
        entries = await notes.home_timeline(db, me, before=before, limit=TIMELINE_SIZE + 1)
        pending = len(await follows.pending_requests(db, me))
    has_more = len(entries) > TIMELINE_SIZE
    entries = entries[:TIMELINE_SIZE]
    return await render(
        "social/timeline.html",
        entries=entries,
        older=entries[-1].note.id if has_more and entries else None,
        visibilities=VISIBILITY_LABELS,
        pending=pending,
        values={"visibility": "public"},
        errors={},
    )


@blueprint.post("/notes")
@login_required
async def compose() -> Page | Response:
    """Publish a note from the compose form."""
    form = await request.form
    values = {
        "content": form.get("content", ""),
        "summary": form.get("summary", ""),
        "visibility": form.get("visibility", "public"),
    }
    state = get_state()
    # Mentions are looked up (WebFinger) before the write, outside its transaction.
    resolved = await resolve_mentions(state, values["content"])
    try:
        async with state.db.session() as db:
            me = await _me(db)
            await notes.create_note(
                db, state, me, values["content"], values["visibility"],
                summary=values["summary"] or None,
                mentions=await mentioned_actors(db, resolved),
            )
    except ServiceError as exc:
        async with state.db.session() as db:
            me = await _me(db)
            entries = await notes.home_timeline(db, me, limit=TIMELINE_SIZE)
        return await render(
            "social/timeline.html",
            status=400,
            entries=entries,
            older=None,
            visibilities=VISIBILITY_LABELS,
            pending=0,
            values=values,
            errors={exc.field or "content": _message(exc)},
        )
    await flash(_("Your note has been published."), "success")
    return redirect(url_for("social.timeline"))


_REACTIONS = {
    "like": (reactions.like, "You liked this note."),
    "unlike": (reactions.unlike, "You no longer like this note."),
    "boost": (reactions.announce, "You boosted this note."),
    "unboost": (reactions.unannounce, "You no longer boost this note."),
}


@blueprint.post("/notes/react")
@login_required
async def react() -> Response:
    """Like, unlike, boost or unboost a note."""
    form = await request.form
    action = form.get("action", "")
    object_id = form.get("object", "")
    if action not in _REACTIONS or not object_id:
        await flash(_("This action is not possible here."), "error")
        return await _back(url_for("social.timeline"))
    service, done = _REACTIONS[action]
    state = get_state()
    try:
        if action in ("like", "boost"):
            # A note we do not have yet is fetched (and stored) first, on its own.
            async with state.db.session() as db:
                await get_or_fetch_object(db, state, object_id)
        async with state.db.session() as db:
            await service(db, state, await _me(db), object_id)
    except ServiceError as exc:
        await flash(_message(exc), "error")
    else:
        await flash(_(done), "success")
    return await _back(url_for("social.timeline"))


@blueprint.post("/notes/delete")
@login_required
async def delete() -> Response:
    """Delete one of one's own notes."""
    form = await request.form
    state = get_state()
    try:
        async with state.db.session() as db:
            me = await _me(db)
            note = await notes.get_local_note(db, me, form.get("object", ""))
            await notes.delete_note(db, state, me, note)
    except ServiceError as exc:
        await flash(_message(exc), "error")
    else:
        await flash(_("Your note has been deleted."), "success")
    return await _back(url_for("social.timeline"))


# ---------------------------------------------------------------- following


async def _find_actor(db: Any, handle: str) -> Actor:
    """A person by handle: ``name`` here, or ``name@host`` anywhere (WebFinger)."""
    handle = handle.strip()
    if not handle:
        raise ServiceError("Fill in an address like name@example.org.", field="handle")
    state = get_state()
    if "@" not in handle.lstrip("@"):
        handle = f"{handle.lstrip('@')}@{state.settings.host}"
    try:
        return await resolve_handle(state, db, handle)
    except ActorUnavailable as exc:
        raise NotFound(
            "Nobody was found at %(handle)s.", field="handle", handle=handle.lstrip("@")
        ) from exc


async def _follow(handle: str) -> str:
    """Follow ``handle`` as the logged-in person; returns the message to show."""
    state = get_state()
    async with state.db.session() as db:
        me = await _me(db)
        target = await _find_actor(db, handle)
        row = await follows.follow(db, state, me, target)
        name = target.handle
        accepted = row.accepted
    if accepted:
        return _("You follow %(handle)s.", handle=name)
    return _("You asked to follow %(handle)s.", handle=name)


@blueprint.route("/follow", methods=["GET", "POST"])
@login_required
async def follow_form() -> Page | Response:
    """Follow someone by their Fediverse address."""
    if request.method == "GET":
        handle = request.args.get("handle", "")
        return await render("social/follow.html", values={"handle": handle}, errors={})
    form = await request.form
    handle = form.get("handle", "")
    try:
        message = await _follow(handle)
    except ServiceError as exc:
        return await render(
            "social/follow.html",
            status=400,
            values={"handle": handle},
            errors={exc.field or "handle": _message(exc)},
        )
    await flash(message, "success")
    return redirect(url_for("social.connections"))


@blueprint.post("/@<handle>/follow")
@login_required
async def follow_button(handle: str) -> Response:
    """The follow button on a profile page."""
    try:
        await flash(await _follow(handle), "success")
    except ServiceError as exc:
        await flash(_message(exc), "error")
    return await _back(url_for("social.connections"))


@blueprint.post("/@<handle>/unfollow")
@login_required
async def unfollow_button(handle: str) -> Response:
    """The unfollow (or withdraw request) button on a profile page."""
    state = get_state()
    try:
        async with state.db.session() as db:
            me = await _me(db)
            target = await _find_actor(db, handle)
            await follows.unfollow(db, state, me, target)
            name = target.handle
    except ServiceError as exc:
        await flash(_message(exc), "error")
    else:
        await flash(_("You no longer follow %(handle)s.", handle=name), "success")
    return await _back(url_for("social.connections"))


@blueprint.get("/follows")
@login_required
async def connections() -> Page:
    """Follow requests waiting for an answer, whom one follows and who follows one."""
    state = get_state()
    async with state.db.session() as db:
        me = await _me(db)
        requests_in = await follows.pending_requests(db, me)
        requests_out = await follows.outgoing_pending(db, me)
        n_following, following = await follows.following_page(db, me, 1, 200)
        n_followers, followers = await follows.followers_page(db, me, 1, 200)
    return await render(
        "social/follows.html",
        requests_in=requests_in,
        requests_out=requests_out,
        following=following,
        followers=followers,
        n_following=n_following,
        n_followers=n_followers,
        locked=me.manually_approves_followers,
    )


_ANSWERS = {
    "accept": (follows.accept_follow_request, "You accepted %(handle)s as a follower."),
    "reject": (follows.reject_follow_request, "You declined the request of %(handle)s."),
    "remove": (follows.remove_follower, "%(handle)s no longer follows you."),
}


@blueprint.post("/follows/<int:actor_id>/<action>")
@login_required
async def answer(actor_id: int, action: str) -> Response:
    """Accept or decline a follow request, or remove a follower."""
    if action not in _ANSWERS:
        await flash(_("This action is not possible here."), "error")
        return redirect(url_for("social.connections"))
    service, done = _ANSWERS[action]
    state = get_state()
    try:
        async with state.db.session() as db:
            me = await _me(db)
            other = await db.get(Actor, actor_id)
            if other is None:
                raise NotFound("There is no follow request from this account.")
            await service(db, state, me, other)
            name = other.handle
    except ServiceError as exc:
        await flash(_message(exc), "error")
    else:
        await flash(_(done, handle=name), "success")
    return redirect(url_for("social.connections"))
