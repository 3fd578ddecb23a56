"""Translations with Babel: Dutch by default, English on request.

Message catalogues are kept as ``.po`` files and compiled in memory at start-up, so a
fresh checkout needs no build step.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
    merged: gettext.NullTranslations | None = None
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=Locale.parse(code))
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        translations = gettext.GNUTranslations(buffer)
        if merged is None:
            merged = translations
        else:
            merged.add_fallback(translations)
    return merged or gettext.NullTranslations()
