"""The initiative page as a conversation: one stream of updates, messages and comments, times
people read ("3 minutes ago"), and the progress chart.

The routes in ``fedi.http.web.initiatives`` read the rows; this module arranges them:

* one stream, newest first, of the history's entries and the comments on the initiative
  itself, each comment's answers threaded under it;
* edits without anything to tell (no field named) are left out, and edits one person made
  in a row within :data:`MERGE_WINDOW` read as one entry naming every field they changed;
* times as a relative phrase with the absolute time beside it (for ``<time title>``);
* the chart: coordinates of an SVG line chart of tasks, tasks done and hours over time, and
  the same numbers as rows for the table under it (screen readers, no-CSS reading).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from babel.lists import format_list

from fedi.domain.initiative_lists import Thread
from fedi.domain.progress_history import ProgressPoint
from fedi.i18n import format_relative, format_when
from models import Actor, Comment, InitiativeUpdate

__all__ = [
    "MERGE_WINDOW",
    "Chart",
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


def initials(actor: Actor | None) -> str:
    """One or two letters for an avatar without a picture."""
    if actor is None:
        return "?"
    words = [w for w in (actor.name or actor.username or "?").split() if w]
    letters = "".join(w[0] for w in words[:2]) or "?"
    return letters.upper()


# ------------------------------------------------------------------ the stream


@dataclass
class StreamItem:
    """One entry of the stream: an update (with its thread) or a comment on the initiative."""

    at: datetime
    entry: InitiativeUpdate | None = None
    label: str = ""
    thread: Thread | None = None
    comment: Comment | None = None
    answers: list[Comment] = field(default_factory=list)
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


def threaded(comments: Sequence[Comment]) -> list[tuple[Comment, list[Comment]]]:
    """Comments with the answers to each under it (answers to answers flattened, in order);
    an answer whose comment is not shown stands on its own."""
    shown = {c.id: c for c in comments}
    roots: list[tuple[Comment, list[Comment]]] = []
    children: dict[int, list[Comment]] = {}

    def root_of(comment: Comment) -> int | None:
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
    top_comments: Sequence[Comment],
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
