"""Field rules shared by initiatives and their tasks: dates and tags.

Its own module so that the board (tasks) and the initiatives (which make a board) use the
same rules without needing each other.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fedi.domain.errors import ServiceError
from fedi.domain.talents import normalise_talent

MAX_TAGS = 10


def parse_date(value: Any, field: str) -> date | None:
    """A ``YYYY-MM-DD`` date (or a ``date``), None when empty; ``ServiceError`` otherwise."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError("Please give a date as YYYY-MM-DD.", field=field) from None


def clean_tags(value: Any) -> list[str]:
    """Tags as normalised talents (the same words people list as talents), at most 10."""
    raw = re.split(r"[,\n]", value) if isinstance(value, str) else list(value or [])
    tags: list[str] = []
    for item in raw:
        tag = normalise_talent(str(item))[:40]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ServiceError("At most %(max)s tags.", field="tags", max=MAX_TAGS)
    return tags
