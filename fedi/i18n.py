"""Translations with Babel: Dutch by default, English on request.

Message catalogues are kept as ``.po`` files and compiled in memory at start-up, so a
fresh checkout needs no build step.

Besides messages this module formats what differs per language: plural forms
(:meth:`Translator.ngettext`, "1 lid" / "2 leden"), dates and times (:func:`format_when`,
"5 dec. 2026 23:31"), numbers (:func:`format_number`, "1.234" in Dutch) and relative times
(:func:`format_relative`, "3 uur geleden"). :func:`install_template_helpers` makes them
available to every template as ``ngettext(...)`` and the filters ``when``, ``day``,
``number`` and ``ago``; they read the page's ``locale`` variable.
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import TIMEDELTA_UNITS
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_timedelta as babel_format_timedelta
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
SUPPORTED_LOCALES = ("nl", "en")
LOCALE_NAMES = {"nl": "Nederlands", "en": "English"}


class Translator:
    """Holds one gettext catalogue per supported locale."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale if default_locale in SUPPORTED_LOCALES else "nl"
        self.catalogues: dict[str, gettext.NullTranslations] = {}
        for code in SUPPORTED_LOCALES:
            self.catalogues[code] = _load(code)

    def get(self, locale: str) -> gettext.NullTranslations:
        """The catalogue for ``locale`` (the default locale's when unknown)."""
        return self.catalogues.get(locale) or self.catalogues[self.default_locale]

    def gettext(self, locale: str, message: str) -> str:
        """Translate one message."""
        return self.get(locale).gettext(message)

    def ngettext(self, locale: str, singular: str, plural: str, count: float) -> str:
        """The form of a counted message for ``count`` in ``locale`` (Babel's plural rules
        from the catalogue's ``Plural-Forms``; English's when the message is untranslated).
        """
        # gettext's plural rules take whole numbers; "1,5 uur" reads as a plural.
        whole = int(count) if count == int(count) else 2
        return self.get(locale).ngettext(singular, plural, whole)

    def pick(self, requested: str | None, accept_language: str | None) -> str:
        """Choose a locale: an explicit choice, then the browser's preference, then the default."""
        if requested in SUPPORTED_LOCALES:
            return requested
        # The instance's language wins over the browser's: Dutch by default, by design.
        del accept_language
        return self.default_locale


def _load(code: str) -> gettext.NullTranslations:
    """Merge every ``.po`` file of a locale into one catalogue.

    Each area of the interface keeps its own file (``shell.po``, ``accounts.po``, ...), so
    parallel work on different areas never edits the same catalogue.
    """
    folder = TRANSLATIONS_DIR / code / "LC_MESSAGES"
    if code != "en" and not any(folder.glob("*.po")):
        # A missing folder would silently show every page in English: fail at start-up.
        raise RuntimeError(f"no translation catalogues in {folder}")
    # One catalogue, not a chain of fallbacks: with a file per area, a chained lookup walked
    # up to twenty catalogues for each of the hundreds of strings on a page (BENCHMARKS.md,
    # finding 12). The first file that translates a message wins, as a chain would have it.
    merged = Catalog(locale=Locale.parse(code))
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=Locale.parse(code))
        for message in catalog:
            if _translated(message) and message.id not in merged:
                merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _translated(message: Message) -> bool:
    """Whether ``message`` carries a translation ``.mo`` files keep (not the header, not
    fuzzy, no empty form)."""
    if not message.id or message.fuzzy:
        return False
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


# ---------------------------------------------------------------- dates, numbers, plurals

# Dates are stored in UTC and shown in the instance's time zone (a municipality's residents
# share one); ``FEDI_TIMEZONE`` picks another.
DEFAULT_TIMEZONE = "Europe/Amsterdam"
# Babel's "medium" date with a 24-hour time: "5 dec. 2026 23:31" / "Dec 5, 2026, 23:31".
_DATETIME_PATTERNS = {"nl": "d MMM y HH:mm", "en": "MMM d, y, HH:mm"}


def _locale(locale: str | None) -> str:
    return locale if locale in SUPPORTED_LOCALES else "nl"


def _zone(zone: str | tzinfo | None) -> tzinfo:
    if isinstance(zone, tzinfo):
        return zone
    try:
        return ZoneInfo(zone or DEFAULT_TIMEZONE)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _aware(value: datetime) -> datetime:
    """A naive datetime from the database is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@cache
def _babel_locale(code: str) -> Locale:
    # Babel parses a locale given by name on every call, which costs more than formatting
    # the date; the supported locales are parsed once.
    return Locale.parse(code)


# Times are formatted per row on pages that show dozens of rows to every reader: the same
# (moment, locale, zone) gives the same text, so the texts of the most recent moments are
# kept. The formats show minutes, not seconds, and hold no "now": nothing goes stale.
_WHEN_CACHE_SIZE = 8192


@lru_cache(maxsize=_WHEN_CACHE_SIZE)
def _format_when(
    value: datetime | date, code: str, zone: str | tzinfo | None, with_time: bool
) -> str:
    locale = _babel_locale(code)
    if not isinstance(value, datetime):
        return babel_format_date(value, "medium", locale=locale)
    moment = _aware(value).astimezone(_zone(zone))
    if not with_time:
        return babel_format_date(moment.date(), "medium", locale=locale)
    return babel_format_datetime(moment, _DATETIME_PATTERNS[code], tzinfo=moment.tzinfo,
                                 locale=locale)


def format_when(
    value: datetime | date | None, locale: str | None, *, zone: str | tzinfo | None = None,
    with_time: bool = True,
) -> str:
    """A date (and time) for people: "5 dec. 2026 23:31" in Dutch, "Dec 5, 2026, 23:31" in
    English, in the instance's time zone. ``None`` gives an empty string."""
    if value is None:
        return ""
    return _format_when(value, _locale(locale), zone, with_time)


def format_number(value: int | float | None, locale: str | None) -> str:
    """A number with the language's separators: "1.234,5" in Dutch, "1,234.5" in English."""
    if value is None:
        return ""
    if type(value) is int:  # counts, on every page ("3 leden"): the same few, kept
        return _format_count(value, _locale(locale))
    return format_decimal(value, locale=_babel_locale(_locale(locale)))


@lru_cache(maxsize=4096)
def _format_count(value: int, code: str) -> str:
    return format_decimal(value, locale=_babel_locale(code))


# Relative times ("3 uur geleden") by (locale, unit, future, count): a phrase depends only on
# those, and a page asks for one per row; see ``_relative_key``.
_RELATIVE_TEXTS: dict[tuple[str, str, bool, int], str] = {}
_RELATIVE_GRANULARITY: Literal["minute"] = "minute"
_RELATIVE_THRESHOLD = 0.9


def _relative_key(seconds: float) -> tuple[str, int]:
    """The unit and count Babel's ``format_timedelta`` picks for ``seconds`` with our
    granularity and threshold (the same steps, so the kept phrase is the one it would
    write)."""
    for unit, per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= _RELATIVE_THRESHOLD or unit == _RELATIVE_GRANULARITY:
            if unit == _RELATIVE_GRANULARITY and value > 0:
                value = max(1, value)
            return unit, round(value)
    return "", 0


def format_relative(
    value: datetime | None, locale: str | None, *, now: datetime | None = None
) -> str:
    """How long ago (or how far ahead) ``value`` is: "3 uur geleden", "over 2 dagen",
    "3 hours ago"; under a minute reads "zojuist" / "just now"."""
    if value is None:
        return ""
    code = _locale(locale)
    delta = _aware(value) - (_aware(now) if now is not None else datetime.now(UTC))
    if abs(delta) < timedelta(seconds=60):
        return "zojuist" if code == "nl" else "just now"
    seconds = delta.total_seconds()
    unit, count = _relative_key(seconds)
    key = (code, unit, seconds >= 0, count)
    text = _RELATIVE_TEXTS.get(key)
    if text is None:
        text = babel_format_timedelta(
            delta, granularity=_RELATIVE_GRANULARITY, threshold=_RELATIVE_THRESHOLD,
            add_direction=True, format="long", locale=_babel_locale(code),
        )
        if len(_RELATIVE_TEXTS) < 4096:  # a few hundred phrases exist; a bound all the same
            _RELATIVE_TEXTS[key] = text
    return text


def _page_locale(context: Context) -> str:
    return _locale(context.get("locale"))


def _page_zone(context: Context) -> str | None:
    settings = context.get("settings")
    return getattr(settings, "timezone", None)


def install_template_helpers(env: Environment, translator: Translator) -> None:
    """Register the language-aware helpers on a Jinja environment (and so on its overlays).

    - ``ngettext(singular, plural, count, **values)``: the form for ``count``, with
      ``%(num)s`` filled with the count written in the page's language and other
      ``%(name)s`` placeholders from ``values``.
    - ``value|when``: date and time ("5 dec. 2026 23:31"), as a ``<time>`` element with
      ``value|when(html=True)``.
    - ``value|day``: the date alone ("5 dec. 2026").
    - ``value|number``: "1.234".
    - ``value|ago``: "3 uur geleden" / "3 hours ago".
    """

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, count: float,
                 **values: Any) -> str:
        locale = _page_locale(context)
        count = count or 0
        text = translator.ngettext(locale, singular, plural, count)
        return text % {"num": format_number(count, locale), **values}

    @pass_context
    def when(context: Context, value: datetime | date | None, html: bool = False) -> str:
        text = format_when(value, _page_locale(context), zone=_page_zone(context))
        if html and isinstance(value, date):
            stamp = _aware(value).isoformat() if isinstance(value, datetime) else value.isoformat()
            return Markup('<time datetime="{}">{}</time>').format(stamp, text)
        return text

    @pass_context
    def day(context: Context, value: datetime | date | None) -> str:
        return format_when(value, _page_locale(context), zone=_page_zone(context),
                           with_time=False)

    @pass_context
    def number(context: Context, value: int | float | None) -> str:
        return format_number(value, _page_locale(context))

    @pass_context
    def ago(context: Context, value: datetime | None, html: bool = False) -> str:
        text = format_relative(value, _page_locale(context))
        if html and value is not None:
            full = format_when(value, _page_locale(context), zone=_page_zone(context))
            return Markup('<time datetime="{}" title="{}">{}</time>').format(
                _aware(value).isoformat(), full, text
            )
        return text

    env.globals["ngettext"] = ngettext
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["number"] = number
    env.filters["ago"] = ago


__all__ = [
    "DEFAULT_TIMEZONE", "LOCALE_NAMES", "SUPPORTED_LOCALES", "Translator",
    "format_number", "format_relative", "format_when", "install_template_helpers",
]
