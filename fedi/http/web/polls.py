"""Polls (decisions) in the web pages: a tribe's and an initiative's polls, voting, closing.

Every form goes through ``fedi.domain.polls``, the services the C2S outbox and incoming
votes use. Pages: ``/tribes/<slug>/polls`` and ``/initiatives/<id>/polls`` list the polls
with their vote forms (radio buttons or check boxes), results as bars with counts and
percentages when they may be shown, and the closing time; members (for an initiative: its
partners) start a poll there. ``/polls/<id>/vote`` votes in a poll, ours or another
server's (a Mastodon or Lemmy poll shown on a timeline votes through ``/polls/vote``,
naming the Question: the vote then goes to its author's server).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from quart import Blueprint, Response, abort, g, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import polls
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.initiative_access import can_edit
from fedi.domain.tribe_access import role_of
from fedi.federation.incoming.polls import remote_poll_for
from fedi.http.web.actions import action_done, action_refused
from fedi.http.web.auth import ViewResult, login_redirect
from fedi.http.web.initiatives import _act as initiative_act
from fedi.http.web.initiatives import _initiative_frame, _load_visible, _tribe_frame
from fedi.http.web.render import _, render
from fedi.http.web.request_db import request_session
from fedi.http.web.tribes import _act as tribe_act
from fedi.http.web.tribes import _load_local
from fedi.state import get_state
from models import Actor, ApObject, Initiative, Poll, Tribe, utcnow

blueprint = Blueprint("polls", __name__)

# How long a poll runs, as offered in the form (hours), like Mastodon's poll durations.
DURATIONS = (1, 6, 24, 72, 168)
MAX_OBJECT_URL = 2048


def duration_labels() -> dict[int, str]:
    """The closing times offered in the form."""
    return {
        1: _("1 hour"), 6: _("6 hours"), 24: _("1 day"), 72: _("3 days"), 168: _("1 week"),
    }


def voter_labels(initiative: bool) -> dict[str, str]:
    """Who may vote, as offered in the form."""
    labels = {"members": _("Members of the tribe")}
    if initiative:
        labels["partners"] = _("Partners of the initiative")
    labels["anyone"] = _("Anyone")
    return labels


def results_labels() -> dict[str, str]:
    """When the results show, as offered in the form."""
    return {"live": _("While voting"), "closed": _("Only when the poll has closed")}


def _viewer() -> Actor | None:
    user = g.user
    return user.actor if user is not None else None


def _redirect(location: str) -> Response:
    return cast(Response, redirect(location, 303))


def _safe_next(value: str | None, default: str) -> str:
    """A local path to go back to (never another site)."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return default


async def _poll_form() -> dict[str, Any]:
    """The poll form's values (question, options, multiple, duration, voters, results)."""
    form = await request.form
    options = [o for o in form.getlist("option") if o.strip()]
    try:
        hours = int(form.get("duration", "24"))
    except ValueError:
        hours = 24
    return {
        "question": form.get("question", ""),
        "options": options,
        "multiple": form.get("multiple") == "on",
        "end_time": utcnow() + timedelta(hours=hours) if hours in DURATIONS else None,
        "voters": form.get("voters", "members"),
        "results": form.get("results", "live"),
    }


async def _views(db: AsyncSession, found: list[Poll]) -> list[polls.PollView]:
    settings = get_state().settings
    return [await polls.view_of(db, settings, poll, _viewer()) for poll in found]


def _form_context(initiative: bool) -> dict[str, Any]:
    return {
        "durations": duration_labels(),
        "voter_choices": voter_labels(initiative),
        "results_choices": results_labels(),
    }


def _list_context(
    views: list[polls.PollView], *, may_create: bool, action: str, here: str, initiative: bool
) -> dict[str, Any]:
    """What a page of polls shows inside its frame: the polls, and the form to start one."""
    return {
        "polls": views, "may_create": may_create, "action": action, "here": here,
        **_form_context(initiative),
    }


# ------------------------------------------------------------------ a tribe's polls


@blueprint.get("/tribes/<slug>/polls")
async def tribe_polls(slug: str) -> ViewResult:
    """The tribe's polls, and the form to start one (members)."""
    async with request_session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_frame(db, tribe)
        viewer = _viewer()
        context.update(_list_context(
            await _views(db, await polls.polls_of_tribe(db, tribe)),
            may_create=viewer is not None and await role_of(db, tribe, viewer) is not None,
            action=url_for("polls.create_tribe_poll", slug=slug),
            here=url_for("polls.tribe_polls", slug=slug),
            initiative=False,
        ))
    return await render("polls/tribe.html", **context)


@blueprint.post("/tribes/<slug>/polls")
async def create_tribe_poll(slug: str) -> Response:
    """A member starts a poll in the tribe."""
    values = await _poll_form()

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        await polls.create_poll(db, get_state().settings, actor, tribe=tribe, **values)
        return _("Your poll has been published.")

    return await tribe_act(slug, work, url_for("polls.tribe_polls", slug=slug))


# ------------------------------------------------------------------ an initiative's polls


@blueprint.get("/initiatives/<int:initiative_id>/polls")
async def initiative_polls(initiative_id: int) -> ViewResult:
    """The polls about an initiative (its decisions), and the form to start one."""
    async with request_session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        context = await _initiative_frame(db, initiative, known)
        context.update(_list_context(
            await _views(db, await polls.polls_of_initiative(db, initiative)),
            may_create=(
                await can_edit(db, initiative, _viewer(), known=known)
                and initiative.archived_at is None
            ),
            action=url_for("polls.create_initiative_poll", initiative_id=initiative_id),
            here=url_for("polls.initiative_polls", initiative_id=initiative_id),
            initiative=True,
        ))
    return await render("polls/initiative.html", **context)


@blueprint.post("/initiatives/<int:initiative_id>/polls")
async def create_initiative_poll(initiative_id: int) -> Response:
    """The creator or a partner starts a poll about the initiative."""
    values = await _poll_form()

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await polls.create_poll(
            db, get_state().settings, actor, tribe=initiative.tribe, initiative=initiative,
            **values,
        )
        return _("Your poll has been published.")

    return await initiative_act(
        initiative_id, work, url_for("polls.initiative_polls", initiative_id=initiative_id)
    )


# ------------------------------------------------------------------ one poll


def _home_of(poll: Poll) -> str:
    """The page a poll of ours is shown on."""
    if poll.initiative_id is not None:
        return url_for("polls.initiative_polls", initiative_id=poll.initiative_id)
    if poll.tribe_id is not None and poll.local:
        return url_for("polls.tribe_polls_by_id", tribe_id=poll.tribe_id)
    return "/"


@blueprint.get("/tribes/by-id/<int:tribe_id>/polls")
async def tribe_polls_by_id(tribe_id: int) -> Response:
    """The polls page of a tribe known by its row id (where a poll's id leads)."""
    async with request_session() as db:
        tribe = await db.get(Tribe, tribe_id)
        if tribe is None:
            abort(404)
        slug = tribe.slug
    return _redirect(url_for("polls.tribe_polls", slug=slug))


async def _poll_action(poll_id: int | None, work: Any, back: str | None) -> Response:
    """Run ``work(db, poll, actor)`` for the logged-in person, then go back with a message."""
    if g.user is None:
        return login_redirect()
    state = get_state()
    target = back or "/"
    try:
        async with state.db.session() as db:
            if poll_id is None:
                poll = await _remote_poll_named(db)
            else:
                poll = await polls.get_poll(db, poll_id)
            target = back or _home_of(poll)
            # The person as a row of this session (the request's own session loaded g.user).
            me = await db.get(Actor, g.user.actor_id)
            if me is None:
                raise Forbidden("Please log in first.")
            message = await work(db, poll, me)
    except ServiceError as exc:
        return await action_refused(exc, target)
    return await action_done(message, target)


async def _remote_poll_named(db: AsyncSession) -> Poll:
    """The remote poll whose Question the form names (``object``), mirrored from the
    stored document."""
    form = await request.form
    ap_id = form.get("object", "").strip()
    if not ap_id or len(ap_id) > MAX_OBJECT_URL:
        raise NotFound("This poll does not exist.")
    poll = await polls.poll_by_ap_id(db, ap_id)
    if poll is not None and poll.local:
        return poll
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))
    mirrored = await remote_poll_for(db, obj) if obj is not None else None
    if mirrored is None:
        raise NotFound("This poll does not exist.")
    return mirrored


async def _vote(db: AsyncSession, poll: Poll, actor: Actor) -> str:
    """Vote for the options the form names by position (our poll pages)."""
    form = await request.form
    choices: list[str | int] = []
    for value in form.getlist("choice"):
        try:
            choices.append(int(value))
        except ValueError as exc:
            raise ServiceError("This poll has no such option.") from exc
    await polls.vote(db, get_state().settings, actor, poll, choices)
    return _("Thank you, your vote has been counted.")


async def _vote_by_name(db: AsyncSession, poll: Poll, actor: Actor) -> str:
    """Vote for the options the form names by name (a poll shown on a timeline)."""
    form = await request.form
    await polls.vote(db, get_state().settings, actor, poll, list(form.getlist("choice")))
    return _("Thank you, your vote has been counted.")


@blueprint.post("/polls/<int:poll_id>/vote")
async def vote(poll_id: int) -> Response:
    """Vote in a poll (ours, or a remote one we mirror): ``choice`` = option positions."""
    form = await request.form
    return await _poll_action(poll_id, _vote, _safe_next(form.get("next"), "") or None)


@blueprint.post("/polls/vote")
async def vote_remote() -> Response:
    """Vote in a poll shown on a timeline (``object`` = its Question id, ``choice`` = the
    option names)."""
    form = await request.form
    return await _poll_action(None, _vote_by_name, _safe_next(form.get("next"), "") or None)


@blueprint.post("/polls/<int:poll_id>/close")
async def close(poll_id: int) -> Response:
    """The organiser closes the poll now."""

    async def work(db: AsyncSession, poll: Poll, actor: Actor) -> str:
        await polls.close_poll(db, get_state().settings, actor, poll)
        return _("The poll is closed.")

    return await _poll_action(poll_id, work, None)


@blueprint.post("/polls/<int:poll_id>/delete")
async def delete(poll_id: int) -> Response:
    """The organiser cancels (deletes) the poll."""

    async def work(db: AsyncSession, poll: Poll, actor: Actor) -> str:
        await polls.delete_poll(db, get_state().settings, actor, poll)
        return _("The poll has been cancelled.")

    return await _poll_action(poll_id, work, None)


@blueprint.route("/polls/<int:poll_id>/edit", methods=["GET", "POST"])
async def edit(poll_id: int) -> ViewResult:
    """The organiser edits the question, the options (before any vote) or the closing time."""
    if g.user is None:
        return login_redirect()
    if request.method == "POST":
        values = await _poll_form()
        form = await request.form

        async def work(db: AsyncSession, poll: Poll, actor: Actor) -> str:
            await polls.edit_poll(
                db, get_state().settings, actor, poll, question=values["question"],
                options=values["options"] or None,
                end_time=values["end_time"] if form.get("duration") else None,
            )
            return _("The poll has been changed.")

        return await _poll_action(poll_id, work, None)
    async with request_session() as db:
        try:
            poll = await polls.get_poll(db, poll_id)
        except NotFound:
            abort(404)
        view = await polls.view_of(db, get_state().settings, poll, _viewer())
        if not view.may_manage:
            abort(403)
        context = {"view": view, "back": _home_of(poll), **_form_context(False)}
    return await render("polls/edit.html", **context)
