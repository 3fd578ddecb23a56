"""Things that happened in an initiative as sentences people read ("Sanne offered 6 hours
on *Bankjes timmeren*"), with the initiative named and linked: for activity lists that
mix initiatives (a tribe's activity tab, the start page). Not protocol verbs, not URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape
from quart import url_for

from fedi.http.web.initiatives import phase_labels, update_label
from fedi.http.web.render import _, current_locale
from fedi.i18n import format_number
from fedi.state import get_state
from models import Actor, Initiative, InitiativeUpdate


def _who(actor: Actor | None) -> str:
    if actor is None:
        return _("Someone")
    if actor.gone_at is not None:
        return _("deleted account")
    return actor.name


def initiative_link(initiative: Initiative) -> Markup:
    """The initiative's name, emphasised and linked to its page."""
    href = url_for("initiatives.show", initiative_id=initiative.id)
    return Markup('<a href="{}"><em>{}</em></a>').format(href, initiative.name)


def _sentence(translated: str, **values: Any) -> Markup:
    """A translated message (``_`` called without values, so the text is still a template)
    with ``values`` filled in escaped; Markup values (links) stay as they are."""
    return escape(translated) % {
        name: value if isinstance(value, Markup) else escape(str(value))
        for name, value in values.items()
    }


def _offered(who: str, link: Markup, data: dict[str, Any]) -> Markup:
    hours = data.get("hours")
    if isinstance(hours, int) and hours > 0:
        locale = current_locale()
        plural = get_state().translator.ngettext(
            locale, "%(name)s offered %(num)s hour on %(initiative)s",
            "%(name)s offered %(num)s hours on %(initiative)s", hours,
        )
        return _sentence(
            plural, name=who, num=format_number(hours, locale), initiative=link
        )
    if data.get("resources"):
        return _sentence(
            _("%(name)s offered %(resources)s on %(initiative)s"), name=who,
            resources=str(data["resources"])[:80], initiative=link,
        )
    return _sentence(_("%(name)s offered to help on %(initiative)s"), name=who, initiative=link)


def update_sentence(initiative: Initiative, entry: InitiativeUpdate) -> Markup:
    """One entry of an initiative's history as a sentence naming the initiative."""
    who = _who(entry.actor)
    link = initiative_link(initiative)
    data = entry.payload or {}
    task = str(data.get("task_name", ""))
    other = str(data.get("contributor", ""))
    sentences: dict[str, Callable[[], Markup]] = {
        "created": lambda: _sentence(
            _("%(name)s started %(initiative)s"), name=who, initiative=link
        ),
        "contribution_offered": lambda: _offered(who, link, data),
        "contribution_accepted": lambda: _sentence(
            _("%(name)s accepted the help of %(other)s on %(initiative)s"), name=who, other=other,
            initiative=link,
        ),
        "task_added": lambda: _sentence(
            _("%(name)s added the task %(task)s to %(initiative)s"), name=who, task=task,
            initiative=link,
        ),
        "task_completed": lambda: _sentence(
            _("%(name)s finished %(task)s in %(initiative)s"), name=who, task=task, initiative=link
        ),
        "partner_joined": lambda: _sentence(
            _("%(name)s joined %(initiative)s as a partner"), name=who, initiative=link
        ),
        "supporter_joined": lambda: _sentence(
            _("%(name)s supports %(initiative)s"), name=who, initiative=link
        ),
        "message": lambda: _sentence(
            _("%(name)s wrote an update on %(initiative)s"), name=who, initiative=link
        ),
        "phase_changed": lambda: _sentence(
            _("%(initiative)s moved to the phase %(phase)s"), initiative=link,
            phase=phase_labels().get(str(data.get("new")), str(data.get("new", ""))),
        ),
        "rated": lambda: _sentence(
            _("%(name)s rated the help of %(other)s on %(initiative)s"), name=who, other=other,
            initiative=link,
        ),
        "archived": lambda: _sentence(
            _("%(name)s archived %(initiative)s"), name=who, initiative=link
        ),
    }
    make = sentences.get(entry.kind)
    if make is not None:
        return make()
    # Any other kind: the initiative page's own sentence, with the initiative named.
    return Markup("{} · {}").format(update_label(entry), link)
