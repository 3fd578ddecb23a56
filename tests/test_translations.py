"""Every message shown in the interface has a Dutch translation (Dutch is the default)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHOD_MAP = [("templates/**.html", "jinja2"), ("fedi/**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None}


def extracted_messages() -> dict[str, str]:
    """msgid -> first place it is used, from templates and Python code."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS,
        options_map={"templates/**.html": {"extensions": "jinja2.ext.do"}},
    ):
        if isinstance(message, tuple):
            message = message[0]
        if message:
            found.setdefault(message, f"{filename}:{lineno}")
    return found


def dutch_catalogue() -> dict[str, str]:
    """Every translated msgid in the Dutch catalogues."""
    translated: dict[str, str] = {}
    for path in (ROOT / "fedi/translations/nl/LC_MESSAGES").glob("*.po"):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    translated[str(message.id)] = str(message.string)
    return translated


def test_every_interface_message_has_a_dutch_translation() -> None:
    messages = extracted_messages()
    assert len(messages) > 20, "the extractor found almost nothing; is the method map right?"
    dutch = dutch_catalogue()
    missing = {msgid: where for msgid, where in messages.items() if msgid not in dutch}
    assert not missing, "untranslated messages:\n" + "\n".join(
        f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items(), key=lambda i: i[1])
    )


def test_placeholders_survive_translation() -> None:
    import re

    placeholder = re.compile(r"%\((\w+)\)s")
    for msgid, msgstr in dutch_catalogue().items():
        assert set(placeholder.findall(msgid)) == set(placeholder.findall(msgstr)), msgid
