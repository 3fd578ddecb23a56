"""The pure checks under the door: JSON limits and URL parsing that never raises."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub.normalize import MAX_JSON_DEPTH, Malformed, check_limits, normalize_activity
from activitypub.vocab import host_of

UNPARSABLE = ["http://[::1", "https://[zz]/", "http://\uff03.example/", "http://[", "]"]


def _nest(depth: int) -> Any:
    """``depth`` arrays and objects, one inside the other."""
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"x": value}
    return value


def test_depth_limit_is_exact() -> None:
    check_limits(_nest(MAX_JSON_DEPTH))
    with pytest.raises(Malformed, match="nested deeper"):
        check_limits(_nest(MAX_JSON_DEPTH + 1))


def test_far_too_deep_documents_do_not_exhaust_the_stack() -> None:
    with pytest.raises(Malformed, match="nested deeper"):
        check_limits(_nest(200_000))


@pytest.mark.parametrize("doc", [
    {"content": "a\x00b"},
    {"odd\x00key": 1},
    {"tag": [{"name": ["\x00"]}]},
])
def test_nul_characters_are_refused_anywhere(doc: dict[str, Any]) -> None:
    with pytest.raises(Malformed, match="NUL"):
        check_limits(doc)


def test_ordinary_documents_pass() -> None:
    check_limits({"id": "https://a.example/1", "type": ["Create"], "object": {"tag": [{}]}})
    check_limits("a string")
    check_limits(None)


@pytest.mark.parametrize("url", UNPARSABLE)
def test_host_of_never_raises(url: str) -> None:
    assert host_of(url) == ""


@pytest.mark.parametrize("url", UNPARSABLE)
def test_normaliser_refuses_unparsable_ids_with_malformed(url: str) -> None:
    for doc in (
        {"id": url, "type": "Create", "actor": "https://a.example/u"},
        {"id": "https://a.example/1", "type": "Create", "actor": url},
        {"id": "https://a.example/1", "type": "Create", "actor": "https://a.example/u",
         "object": {"id": url, "type": "Note"}},
    ):
        with pytest.raises(Malformed):
            normalize_activity(doc)
