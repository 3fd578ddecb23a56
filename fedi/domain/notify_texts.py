"""The words and links of the notification kinds added in issue 12, for pages and mails.

Each function takes the translation function of its caller (``_`` of the web pages, or
``fedi.domain.mail.mail_translator`` for a mail in the recipient's language), so the same
sentence is on the notifications page, in the mail at once and in the digest.
"""

from __future__ import annotations

from collections.abc import Callable

from models import Notification

__all__ = ["describe", "kind_labels", "link_path", "sentence"]

Translate = Callable[..., str]


def kind_labels(_: Translate) -> dict[str, str]:
    """What each kind of issue 12 is about, for the settings and unsubscribe pages."""
    return {
        "tribe_join_requested": _("Requests to join your tribes"),
        "tribe_join_approved": _("Your request to join a tribe was accepted"),
        "tribe_join_rejected": _("Your request to join a tribe was declined"),
        "tribe_invited": _("Invitations to tribes"),
        "tribe_member_joined": _("New members of your tribes"),
        "follow": _("New followers"),
        "follow_request": _("Requests to follow you"),
        "reply": _("Replies to your posts"),
        "like": _("Likes of your posts"),
        "boost": _("Boosts of your posts"),
        "task_due": _("Tasks you help with that are due tomorrow"),
        "report": _("Reports for moderators"),
        "post_removed": _("Your post was removed by a moderator"),
        "member_removed": _("You were removed from a tribe"),
        "tribe_blocked": _("You were blocked in a tribe"),
        "role_changed": _("Your role in a tribe changed"),
        "digest": _("The digest mail"),
    }


def describe(note: Notification, _: Translate, who: str | None = None) -> str | None:
    """One notification of an issue-12 kind as a sentence; None for other kinds.

    ``who`` is the name of the person who caused it (default: the row's actor).
    """
    if who is None:
        who = (note.actor.name or note.actor.handle) if note.actor is not None else _("Someone")
    data = note.payload or {}
    tribe = str(data.get("tribe", ""))
    excerpt = str(data.get("excerpt", ""))
    texts: dict[str, Callable[[], str]] = {
        "tribe_join_requested": lambda: _(
            "%(name)s asks to join %(tribe)s", name=who, tribe=tribe
        ),
        "tribe_join_approved": lambda: _(
            "Your request to join %(tribe)s was accepted", tribe=tribe
        ),
        "tribe_join_rejected": lambda: _(
            "Your request to join %(tribe)s was declined", tribe=tribe
        ),
        "tribe_invited": lambda: _("%(name)s invites you to %(tribe)s", name=who, tribe=tribe),
        "tribe_member_joined": lambda: _("%(name)s joined %(tribe)s", name=who, tribe=tribe),
        "follow": lambda: _("%(name)s follows you now", name=who),
        "follow_request": lambda: _("%(name)s asks to follow you", name=who),
        "reply": lambda: _("%(name)s replied: %(text)s", name=who, text=excerpt),
        "like": lambda: _("%(name)s liked your post: %(text)s", name=who, text=excerpt),
        "boost": lambda: _("%(name)s boosted your post: %(text)s", name=who, text=excerpt),
        "task_due": lambda: _(
            "The task %(task)s in %(title)s is due tomorrow",
            task=str(data.get("task", "")), title=str(data.get("initiative", "")),
        ),
        "report": lambda: (
            _("%(name)s reported something in %(tribe)s", name=who, tribe=tribe) if tribe
            else _("%(name)s reported something", name=who)
        ),
        "post_removed": lambda: _(
            "A moderator of %(tribe)s removed your post", tribe=tribe
        ),
        "member_removed": lambda: _("You were removed from %(tribe)s", tribe=tribe),
        "tribe_blocked": lambda: _("You were blocked in %(tribe)s", tribe=tribe),
        "role_changed": lambda: _(
            "Your role in %(tribe)s is now: %(role)s", tribe=tribe,
            role=str(data.get("role", "")),
        ),
    }
    text = texts.get(note.kind)
    return text() if text is not None else None


def _earlier_kinds(note: Notification, _: Translate, who: str) -> str:
    """The kinds from before issue 12 (the same sentences as the notifications page)."""
    data = note.payload or {}
    title = str(data.get("initiative", ""))
    task = str(data.get("task", ""))
    texts: dict[str, Callable[[], str]] = {
        "mention": lambda: _("%(name)s mentioned you in %(title)s", name=who, title=title),
        "message": lambda: _("%(name)s wrote in %(title)s", name=who, title=title),
        "comment": lambda: _("%(name)s commented in %(title)s", name=who, title=title),
        "contribution_offered": lambda: _(
            "%(name)s offered to help with %(task)s in %(title)s", name=who, task=task,
            title=title,
        ),
        "contribution_accepted": lambda: _(
            "%(name)s accepted your offer for %(task)s", name=who, task=task
        ),
        "contribution_rejected": lambda: _(
            "%(name)s declined your offer for %(task)s", name=who, task=task
        ),
        "contribution_withdrawn": lambda: _(
            "%(name)s withdrew an offer in %(title)s", name=who, title=title
        ),
        "partner_requested": lambda: _(
            "%(name)s asks to become a partner of %(title)s", name=who, title=title
        ),
        "partner_joined": lambda: _(
            "%(name)s is now a partner of %(title)s", name=who, title=title
        ),
        "supporter_joined": lambda: _("%(name)s supports %(title)s", name=who, title=title),
        "task_added": lambda: _("%(name)s added the task %(task)s", name=who, task=task),
        "task_completed": lambda: _(
            "%(name)s completed the task %(task)s", name=who, task=task
        ),
        "rated": lambda: _(
            "%(name)s rated your contribution to %(title)s", name=who, title=title
        ),
        "initiative_changed": lambda: _("%(title)s moved to a new phase", title=title),
        "meetup_reminder": lambda: _("Tomorrow: %(title)s", title=str(data.get("title", ""))),
        "meetup_cancelled": lambda: _(
            "%(title)s has been cancelled", title=str(data.get("title", ""))
        ),
    }
    text = texts.get(note.kind)
    return text() if text is not None else note.kind


def sentence(note: Notification, _: Translate) -> str:
    """Any notification as one sentence (for mails: every kind, old and new)."""
    who = (note.actor.name or note.actor.handle) if note.actor is not None else _("Someone")
    return describe(note, _, who) or _earlier_kinds(note, _, who)


def link_path(note: Notification) -> str | None:
    """Where a notification leads: an absolute URL (a remote post) or a path here."""
    data = note.payload or {}
    url = data.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    if note.kind == "report" and isinstance(data.get("slug"), str):
        return f"/tribes/{data['slug']}/moderation"
    if note.kind == "tribe_join_requested" and isinstance(data.get("slug"), str):
        return f"/tribes/{data['slug']}/members"
    if isinstance(data.get("slug"), str):
        return f"/tribes/{data['slug']}"
    if note.kind.startswith("meetup_") and isinstance(data.get("key"), str):
        return f"/events/{data['key']}"
    if note.initiative_id is not None:
        task_id = data.get("task_id")
        if isinstance(task_id, int):
            return f"/initiatives/{note.initiative_id}/tasks/{task_id}"
        return f"/initiatives/{note.initiative_id}"
    return None
