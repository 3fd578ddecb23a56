"""Plurals, dates, numbers and relative times in Dutch and English (fedi/i18n.py), in code
and through the template helpers every page gets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fedi.i18n import Translator, format_number, format_relative, format_when

MOMENT = datetime(2026, 12, 5, 22, 31)  # naive UTC, as the database returns it


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("nl", 0, "0 leden"), ("nl", 1, "1 lid"), ("nl", 2, "2 leden"),
        ("nl", 1234, "1.234 leden"),
        ("en", 0, "0 members"), ("en", 1, "1 member"), ("en", 1234, "1,234 members"),
    ],
)
def test_plural_forms(locale: str, count: int, expected: str) -> None:
    translator = Translator("nl")
    text = translator.ngettext(locale, "%(num)s member", "%(num)s members", count)
    assert text % {"num": format_number(count, locale)} == expected


def test_plural_of_fractions_and_other_words() -> None:
    translator = Translator("nl")
    assert translator.ngettext("nl", "%(num)s initiative", "%(num)s initiatives", 1) == (
        "%(num)s initiatief"
    )
    assert translator.ngettext("nl", "%(num)s initiative", "%(num)s initiatives", 3) == (
        "%(num)s initiatieven"
    )
    # 1.5 hours reads as a plural in both languages.
    assert translator.ngettext("en", "%(num)s hour", "%(num)s hours", 1.5) == "%(num)s hours"


def test_dates_in_the_instance_time_zone() -> None:
    # 22:31 UTC is 23:31 in Amsterdam in December.
    assert format_when(MOMENT, "nl") == "5 dec 2026 23:31"
    assert format_when(MOMENT, "en") == "Dec 5, 2026, 23:31"
    assert format_when(MOMENT, "nl", with_time=False) == "5 dec 2026"
    assert format_when(date(2026, 7, 1), "nl") == "1 jul 2026"
    assert format_when(MOMENT, "en", zone="UTC") == "Dec 5, 2026, 22:31"
    assert format_when(None, "nl") == ""
    # Summer time: UTC+2.
    assert format_when(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), "nl") == "1 jul 2026 12:00"


def test_numbers() -> None:
    assert format_number(1234.5, "nl") == "1.234,5"
    assert format_number(1234.5, "en") == "1,234.5"


def test_relative_times() -> None:
    later = MOMENT + timedelta(hours=3)
    assert format_relative(MOMENT, "nl", now=later) == "3 uur geleden"
    assert format_relative(MOMENT, "en", now=later) == "3 hours ago"
    assert format_relative(MOMENT, "nl", now=MOMENT - timedelta(days=2)) == "over 2 dagen"
    assert format_relative(MOMENT, "en", now=MOMENT - timedelta(days=2)) == "in 2 days"
    assert format_relative(MOMENT, "nl", now=MOMENT + timedelta(seconds=20)) == "zojuist"
    assert format_relative(MOMENT, "en", now=MOMENT + timedelta(seconds=20)) == "just now"
    assert format_relative(MOMENT, "en", now=MOMENT + timedelta(minutes=1)) == "1 minute ago"


async def test_template_helpers(app: Any) -> None:
    template = app.jinja_env.overlay(enable_async=False).from_string(
        "{{ ngettext('%(num)s member', '%(num)s members', n) }}|{{ moment|when }}|"
        "{{ moment|day }}|{{ big|number }}|{{ moment|when(html=True) }}|"
        "{{ ngettext('%(num)s comment', '%(num)s comments', n) }}"
    )
    settings = app.state.settings
    dutch = template.render(locale="nl", settings=settings, n=1, moment=MOMENT, big=12345)
    assert dutch == (
        "1 lid|5 dec 2026 23:31|5 dec 2026|12.345|"
        '<time datetime="2026-12-05T22:31:00+00:00">5 dec 2026 23:31</time>|1 reactie'
    )
    english = template.render(locale="en", settings=settings, n=2, moment=MOMENT, big=12345)
    assert english.startswith("2 members|Dec 5, 2026, 23:31|Dec 5, 2026|12,345|")
    assert english.endswith("|2 comments")
    ago = app.jinja_env.overlay(enable_async=False).from_string("{{ moment|ago(html=True) }}")
    shown = ago.render(locale="en", settings=settings,
                       moment=datetime.now(UTC) - timedelta(hours=2, minutes=5))
    assert ">2 hours ago</time>" in shown and 'title="' in shown


async def test_tribe_page_counts_read_naturally(app: Any, client: Any) -> None:
    """One member reads "1 lid" on a real tribe page, never "1 leden"."""
    from profile_helpers import make_person
    from tribe_helpers import make_tribe

    await make_person(app, "fatima")
    tribe = await make_tribe(app, "plein", "fatima")
    page = await (await client.get(f"/tribes/{tribe.slug}")).get_data(as_text=True)
    assert "1 lid" in page and "1 leden" not in page
    assert "0 initiatieven" in page


def test_every_counted_message_has_dutch_plural_forms() -> None:
    """Each ``ngettext(...)`` in templates and code has both Dutch forms (the shared check in
    tests/test_translations.py looks at ``_()`` only)."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    used: dict[tuple[str, str], str] = {}
    for filename, lineno, message, _c, _ctx in extract_from_dir(
        str(root), [("templates/**.html", "jinja2"), ("fedi/**.py", "python")],
        keywords={"ngettext": (1, 2)},
        options_map={"templates/**.html": {"extensions": "jinja2.ext.do"}},
    ):
        if isinstance(message, tuple) and len(message) == 2 and all(message):
            used.setdefault((message[0], message[1]), f"{filename}:{lineno}")
    assert len(used) >= 10, used
    dutch: dict[str, tuple[str, ...]] = {}
    for path in (root / "fedi/translations/nl/LC_MESSAGES").glob("*.po"):
        with path.open("rb") as handle:
            for entry in read_po(handle):
                if isinstance(entry.id, tuple) and isinstance(entry.string, tuple):
                    dutch[entry.id[0]] = entry.string
    missing = {pair: where for pair, where in used.items()
               if pair[0] not in dutch or not all(dutch[pair[0]])}
    assert not missing, missing


def test_templates_show_no_raw_timestamps() -> None:
    """Dates on pages go through ``|when`` / ``|day`` (or a page's own formatter), not
    ``strftime`` with ISO patterns; the exceptions are listed with their reason."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    allowed = {
        "admin/audit.html",  # seconds matter in an audit log
        "polls/_block.html",  # the closing time is stated in UTC, in its message
        "your_data/archive_index.html",  # an offline archive page, in UTC
    }
    raw = re.compile(r"strftime\(\"%Y-%m-%d")
    found = [str(path.relative_to(root)) for path in root.rglob("*.html")
             if raw.search(path.read_text(encoding="utf-8"))
             and str(path.relative_to(root)) not in allowed and "mail/" not in str(path)]
    assert not found, found
