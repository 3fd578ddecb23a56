"""The kept (cached) texts of fedi/i18n.py read exactly as Babel writes them: relative times
for every unit, direction and rounding edge, dates and times in other zones, and counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal

from fedi.i18n import format_number, format_relative, format_when

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

# Seconds around the places Babel changes unit or rounds (threshold 0.9, half counts).
EDGES = [
    60, 89, 90, 91, 3599, 0.9 * 3600 - 1, 0.9 * 3600, 5400, 0.9 * 86400 - 1, 0.9 * 86400,
    21.58 * 3600, 2.5 * 86400, 3.5 * 86400, 0.9 * 604800, 6 * 604800, 0.9 * 2592000,
    45 * 86400, 0.9 * 31536000, 400 * 86400, 10 * 31536000 + 5,
]


@pytest.mark.parametrize("locale", ["nl", "en"])
@pytest.mark.parametrize("sign", [1, -1])
def test_relative_times_are_babels(locale: str, sign: int) -> None:
    for seconds in [*EDGES, *(n * 977.3 for n in range(1, 400))]:
        delta = timedelta(seconds=sign * seconds)
        expected = format_timedelta(
            delta, granularity="minute", threshold=0.9, add_direction=True, format="long",
            locale=locale,
        )
        # Twice: the first call keeps the phrase, the second reads it back.
        assert format_relative(NOW + delta, locale, now=NOW) == expected
        assert format_relative(NOW + delta, locale, now=NOW) == expected


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_dates_and_times_are_babels(locale: str) -> None:
    pattern = {"nl": "d MMM y HH:mm", "en": "MMM d, y, HH:mm"}[locale]
    for zone in ("Europe/Amsterdam", "America/New_York"):
        for hours in range(0, 24 * 400, 37):
            moment = datetime(2026, 1, 1, 0, 7) + timedelta(hours=hours)  # naive UTC
            local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
            expected = format_datetime(local, pattern, tzinfo=local.tzinfo, locale=locale)
            assert format_when(moment, locale, zone=zone) == expected
            assert format_when(moment, locale, zone=zone) == expected
            assert format_when(moment, locale, zone=zone, with_time=False) == format_date(
                local.date(), "medium", locale=locale
            )
    assert format_when(date(2026, 12, 5), locale) == format_date(
        date(2026, 12, 5), "medium", locale=locale
    )


def test_counts_are_babels() -> None:
    for value in (0, 1, 7, 999, 1000, 1234567, -5):
        for locale in ("nl", "en"):
            assert format_number(value, locale) == format_decimal(value, locale=locale)
            assert format_number(value, locale) == format_decimal(value, locale=locale)
    assert format_number(1234.5, "nl") == "1.234,5"
