"""The initiative page as a conversation: one stream of updates, messages and comments, times
people read ("3 minutes ago"), and the progress chart.

The routes in ``fedi.http.web.initiatives`` read the rows; this module arranges them:

* one stream, newest first, of the history's entries and the comments on the initiative
  itself, each comment's answers threaded under it;
* edits without anything to tell (no field named) are left out, and edits one person made
  in a row within :data:`MERGE_WINDOW` read as one entry naming every field they changed;
* times as a relative phrase with the absolute time beside it (for ``<time title>``);
* the small pieces of HTML every row repeats (a face, a name, a time: :class:`Faces`);
* the chart: coordinates of an SVG line chart of tasks, tasks done and hours over time, and
  the same numbers as rows for the table under it (screen readers, no-CSS reading).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.lists import format_list
from markupsafe import Markup, escape

from fedi.domain.initiative_lists import Person, ShownComment, Thread
from fedi.domain.progress_history import ProgressPoint
from fedi.i18n import format_relative, format_when
from models import Actor, Comment, InitiativeUpdate

__all__ = [
    "MERGE_WINDOW",
    "Chart",
    "Faces",
    "StreamItem",
    "Times",
    "build_chart",
    "build_stream",
    "edit_fields",
    "initials",
    "threaded",
]

# Edits by one person this close together are one change to a reader.
MERGE_WINDOW = timedelta(hours=2)


# ------------------------------------------------------------------ times


def _aware(moment: datetime) -> datetime:
    # Rows store UTC without a zone (SQLite keeps no zone).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Times:
    """Relative and absolute times in one locale and time zone, measured from ``now``
    (the instance's own formats, ``fedi.i18n``, as every page shows them)."""

    locale: str
    now: datetime
    zone: str | None = None

    def ago(self, moment: datetime) -> str:
        """"3 minutes ago", "just now" in the reader's language."""
        return format_relative(moment, self.locale, now=self.now)

    def exact(self, moment: datetime) -> str:
        """The full date and time, for the ``title`` of a ``<time>``."""
        return format_when(moment, self.locale, zone=self.zone)

    def day(self, moment: date | datetime) -> str:
        """A date in the reader's language (for the chart)."""
        return format_when(moment, self.locale, zone=self.zone, with_time=False)


def initials(actor: Actor | Person | None) -> str:
    """One or two letters for an avatar without a picture."""
    if actor is None:
        return "?"
    words = [w for w in (actor.name or actor.username or "?").split() if w]
    letters = "".join(w[0] for w in words[:2]) or "?"
    return letters.upper()


def _html(text: str) -> Markup:
    """``text`` as markup: the ``Faces`` methods build it from literal tags and values each
    passed through ``escape`` (or safe by construction: ISO timestamps, ``content_html``
    stored sanitised). An f-string costs
    half of ``Markup.format``, and a page builds hundreds."""
    return Markup(text)  # noqa: S704 - see the docstring


@dataclass(frozen=True)
class Faces:
    """The pieces of HTML every row of a conversation repeats: a face, a name, a time.

    They are written here rather than as template macros because a page shows a hundred
    rows or more and a Jinja macro call costs many times a function call. The templates
    call them as ``faces.avatar(actor)``, ``faces.when(moment)`` and so on; every value in
    the markup is escaped.
    """

    times: Times
    # ``profiles.avatar_url`` with the settings: reads ``avatar_path`` and ``icon_url``,
    # which an ``Actor`` and a ``Person`` both have.
    avatar_of: Callable[[Any], str | None]
    # "deleted account", "edited" and "This comment was deleted." in the reader's language.
    deleted_account: str
    edited: str
    deleted_comment: str

    def avatar(self, actor: Actor | Person | None, size: int = 40) -> Markup:
        """A face: the picture, or initials (a "?" for nobody or a deleted account)."""
        shown = actor is not None and not actor.gone_at
        url = self.avatar_of(actor) if shown else None
        if url:
            return _html(
                f'\n<img class="avatar" src="{escape(url)}" alt="" width="{size}" '
                f'height="{size}" loading="lazy">'
            )
        letters = initials(actor) if shown else "?"
        return _html(
            f'\n<span class="avatar avatar-initials" aria-hidden="true">{escape(letters)}</span>'
        )

    def who(self, actor: Actor | Person | None) -> Markup:
        """The author's name and handle, or "deleted account"."""
        if actor is None or actor.gone_at:
            return _html(
                f'<strong class="deleted-account">{escape(self.deleted_account)}</strong>'
            )
        return _html(
            f'<strong class="author">{escape(actor.name)}</strong> '
            f'<span class="hint">@{escape(actor.handle)}</span>'
        )

    def when(self, moment: datetime) -> Markup:
        """A ``<time>`` reading "3 hours ago", the full date and time in its title."""
        # An ISO timestamp holds digits and "-:.+T" only: nothing to escape.
        return _html(
            f'<time data-relative datetime="{moment.isoformat()}" '
            f'title="{escape(self.times.exact(moment))}">{escape(self.times.ago(moment))}</time>'
        )

    def comment_meta(self, comment: Comment | ShownComment) -> Markup:
        """A comment's line above its text: who, when, and whether it was edited."""
        edited = (
            f' <span class="hint">({escape(self.edited)})</span>'
            if comment.edited_at and not comment.deleted_at else ""
        )
        return _html(
            f'<p class="stream-meta">{self.who(comment.author)} · '
            f'{self.when(comment.created_at)}{edited}</p>'
        )

    def comment_text(self, comment: Comment | ShownComment) -> Markup:
        """A comment as the stream shows it to everyone: its line and its text (stored
        sanitised), or that it was deleted. The author's own edit and delete forms are the
        template's (``own_comment`` in ``initiatives/_stream.html``)."""
        if comment.deleted_at:
            text = f'<p class="hint">{escape(self.deleted_comment)}</p>'
        else:
            text = f'<div class="prose">{comment.content_html}</div>'
        return _html(f"{self.comment_meta(comment)}\n{text}\n")


# ------------------------------------------------------------------ the stream


@dataclass
class StreamItem:
    """One entry of the stream: an update (with its thread) or a comment on the initiative."""

    at: datetime
    entry: InitiativeUpdate | None = None
    label: str = ""
    thread: Thread | None = None
    comment: ShownComment | None = None
    answers: list[ShownComment] = field(default_factory=list)
    # Field names of merged edits (for "changed the summary and the description").
    fields: list[str] = field(default_factory=list)


def edit_fields(entry: InitiativeUpdate) -> list[str]:
    """The fields an ``edited`` entry names (none: an edit with nothing to tell)."""
    raw = (entry.payload or {}).get("fields") or []
    return [str(name) for name in raw if isinstance(name, str)]


def _mergeable(newer: StreamItem, older: InitiativeUpdate) -> bool:
    entry = newer.entry
    return (
        entry is not None and entry.kind == "edited" and older.kind == "edited"
        and entry.actor_id == older.actor_id and newer.thread is None
        and abs(_aware(entry.created_at) - _aware(older.created_at)) <= MERGE_WINDOW
    )


def threaded(
    comments: Sequence[ShownComment],
) -> list[tuple[ShownComment, list[ShownComment]]]:
    """Comments with the answers to each under it (answers to answers flattened, in order);
    an answer whose comment is not shown stands on its own."""
    shown = {c.id: c for c in comments}
    roots: list[tuple[ShownComment, list[ShownComment]]] = []
    children: dict[int, list[ShownComment]] = {}

    def root_of(comment: ShownComment) -> int | None:
        seen: set[int] = set()
        parent = comment.parent_id
        current = None
        while parent is not None and parent in shown and parent not in seen:
            seen.add(parent)
            current = parent
            parent = shown[parent].parent_id
        return current

    for comment in comments:
        root = root_of(comment)
        if root is None:
            roots.append((comment, children.setdefault(comment.id, [])))
        else:
            children.setdefault(root, []).append(comment)
    return roots


def build_stream(
    entries: Sequence[InitiativeUpdate],
    label_of: Callable[[InitiativeUpdate, list[str]], str],
    threads: dict[int | None, Thread],
    top_comments: Sequence[ShownComment],
) -> list[StreamItem]:
    """The stream, newest first (see the module notes). ``label_of(entry, fields)`` is the
    entry's sentence; ``threads`` the comments under entries by entry id."""
    items: list[StreamItem] = []
    for entry in entries:  # newest first
        thread = threads.get(entry.id)
        if entry.kind == "edited":
            names = edit_fields(entry)
            if not names and thread is None:
                continue
            last = items[-1] if items else None
            if last is not None and thread is None and _mergeable(last, entry):
                # The older edit's fields come first: the sentence follows the order of work.
                last.fields[:0] = [n for n in names if n not in last.fields]
                last.label = label_of(last.entry, last.fields)  # type: ignore[arg-type]
                continue
            items.append(StreamItem(entry.created_at, entry, label_of(entry, names), thread,
                                    fields=list(names)))
            continue
        items.append(StreamItem(entry.created_at, entry, label_of(entry, []), thread))
    for comment, answers in threaded(top_comments):
        last_at = max([comment.created_at, *(a.created_at for a in answers)], key=_aware)
        items.append(StreamItem(last_at, comment=comment, answers=answers))
    items.sort(key=lambda item: _aware(item.at), reverse=True)
    return items


def join_names(names: Sequence[str], locale: str) -> str:
    """"a, b and c" in the reader's language."""
    return format_list(list(names), locale=locale) if names else ""


# ------------------------------------------------------------------ the chart


@dataclass(frozen=True)
class Chart:
    """An SVG line chart's geometry (``viewBox`` 0 0 :attr:`width` :attr:`height`)."""

    width: int
    height: int
    tasks_line: str
    done_line: str
    hours_line: str
    max_tasks: int
    max_hours: int
    first: ProgressPoint
    last: ProgressPoint
    points: list[ProgressPoint]
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    # Where the lines end (a dot marks today's values).
    end_x: float = 0.0
    done_y: float = 0.0
    tasks_y: float = 0.0
    hours_y: float = 0.0


def build_chart(points: Sequence[ProgressPoint], width: int = 600, height: int = 220) -> Chart:
    """Lines for tasks and tasks done (left scale) and hours (own scale, right) over days."""
    left, right, top, bottom = 36, width - 40, 12, height - 28
    series = list(points)
    # A single day still draws lines (flat, across the plot), not invisible points.
    drawn = series if len(series) > 1 else series * 2
    max_tasks = max([1, *(p.tasks for p in series)])
    max_hours = max([1, *(p.hours for p in series)])
    count = len(drawn)

    def x(index: int) -> float:
        return left + (right - left) * index / (count - 1)

    def y(value: int, top_value: int) -> float:
        return bottom - (bottom - top) * value / top_value

    def line(values: list[int], top_value: int) -> str:
        return " ".join(f"{x(i):.1f},{y(v, top_value):.1f}" for i, v in enumerate(values))

    last = series[-1]

    return Chart(
        width=width, height=height,
        tasks_line=line([p.tasks for p in drawn], max_tasks),
        done_line=line([p.done for p in drawn], max_tasks),
        hours_line=line([p.hours for p in drawn], max_hours),
        end_x=right, done_y=y(last.done, max_tasks), tasks_y=y(last.tasks, max_tasks),
        hours_y=y(last.hours, max_hours),
        max_tasks=max_tasks, max_hours=max_hours, first=series[0], last=last,
        points=series, plot_left=left, plot_right=right, plot_top=top, plot_bottom=bottom,
    )
