"""Status ids of the Mastodon API: stable strings that sort by time, for notes, boosts and
initiatives alike.

Mastodon's ids are snowflakes: numbers that grow with time, compared by apps as strings
(length first, then lexically: Tusky, Ivory, Mastodon.py's ``min_id`` handling). Ours are
made of three parts written as one fixed-width number::

    <milliseconds since 1970, 13 digits><kind, 1 digit><row id, 10 digits>

so every status id has 24 digits, sorts by when the status was written, never collides
between kinds (a note, a boost, an initiative) and decodes back to its row without a lookup
table. The time is the note's ``published``, a boost's ``created_at``, an initiative's
``created_at``: values that never change, so an id stays the same forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NOTE = 1
REBLOG = 2
INITIATIVE = 3
KINDS = (NOTE, REBLOG, INITIATIVE)

_ROW_DIGITS = 10
_LENGTH = 13 + 1 + _ROW_DIGITS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class StatusKey:
    """A decoded status id: when, what kind of row, which row."""

    millis: int
    kind: int
    row: int

    @property
    def when(self) -> datetime:
        """The start of the millisecond of this id, as an aware datetime."""
        return _EPOCH + timedelta(milliseconds=self.millis)


def millis_of(when: datetime) -> int:
    """Whole milliseconds since 1970 of ``when`` (naive values are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def encode(kind: int, row: int, when: datetime) -> str:
    """The status id of row ``row`` of ``kind`` written at ``when``."""
    return f"{millis_of(when):013d}{kind}{row:0{_ROW_DIGITS}d}"


def decode(value: str | None) -> StatusKey | None:
    """The parts of a status id, or None for anything that is not one of ours."""
    if not value or len(value) != _LENGTH or not value.isdigit():
        return None
    kind = int(value[13])
    if kind not in KINDS:
        return None
    return StatusKey(int(value[:13]), kind, int(value[14:]))


def is_after(status_id: str, bound: str | None) -> bool:
    """Whether ``status_id`` sorts after ``bound`` (no bound: True)."""
    return bound is None or (len(status_id), status_id) > (len(bound), bound)


def is_before(status_id: str, bound: str | None) -> bool:
    """Whether ``status_id`` sorts before ``bound`` (no bound: True)."""
    return bound is None or (len(status_id), status_id) < (len(bound), bound)
