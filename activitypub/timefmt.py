"""Timestamp formatting and parsing in the shape the Fediverse uses (``2026-11-29T20:30:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_datetime(dt: datetime) -> str:
    """Format ``dt`` as UTC with second precision and a ``Z`` suffix, as Mastodon does.

    Naive datetimes are taken to be UTC already.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime.

    Tolerates a ``Z`` suffix, numeric offsets and fractional seconds of any length: Lemmy sends
    microseconds (``2020-01-17T01:38:22.348392Z``), Mastodon none, some servers nanoseconds.
    Raises ``ValueError`` on anything else.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.11 accepts at most 6 fractional digits; trim extra precision before parsing.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        text = f"{head}.{(digits or '0')[:6].ljust(6, '0')}{rest}"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
