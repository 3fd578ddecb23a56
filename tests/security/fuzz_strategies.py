"""Hypothesis strategies for the attack suite: hostile JSON values and mutated activities.

A generated case starts from a valid activity (or C2S document) and gets a few fields
replaced by hostile values: unparsable URLs, ids of other servers and of ours, wrong types
(dicts and lists where strings belong), NUL characters, deep nesting, huge strings, and
self-contradicting combinations (two types, an object on another host, an actor that is
not the signer). Every URL that parses points at a host the test routes (the instance
itself or the fake remote server), so no case depends on the network.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

BASE = "http://localhost:8001"
REMOTE = "http://localhost:9001"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

HOSTILE_STRINGS = [
    "http://[::1",
    "http://[::1]:99999/x",
    "https://[zz]/note",
    "http://\uff03.example/",
    "javascript:alert(1)",
    "http://trusted.example@localhost:9001/notes/1",
    "//localhost:9001/notes/1",
    "",
    " ",
    "\u0000",
    f"{REMOTE}/notes/\u0000",
    "\u202e",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "9999-99-99T99:99:99Z",
    "99999-01-01T00:00:00Z",
    "as:Public",
    "Public",
    PUBLIC,
    f"{BASE}/users/alice",
    f"{BASE}/users/alice/followers",
    f"{BASE}/tribes/plein",
    f"{BASE}/inbox",
    f"{BASE}/notes/1",
    f"{REMOTE}/users/fiona",
    f"{REMOTE}/users/fiona/followers",
    f"{REMOTE}/users/nobody",
    f"{REMOTE}/notes/missing",
    "Note", "Create", "Follow", "Undo", "Delete", "Announce", "Accept", "Page", "Person",
    "Group", "Tombstone",
]

KEYS = [
    "id", "type", "actor", "object", "target", "origin", "to", "cc", "bto", "bcc",
    "audience", "content", "contentMap", "summary", "name", "attributedTo", "inReplyTo", "tag",
    "attachment", "url", "published", "updated", "source", "context", "conversation", "quote",
    "replies", "icon", "image", "location", "startTime", "endTime", "href", "@context",
    "sensitive", "mediaType",
]

# Long enough to pass every column's limit (ids are at most 2,048 characters).
long_strings = st.builds(
    lambda prefix, n: prefix + "a" * n,
    st.sampled_from(["", f"{REMOTE}/notes/", "<p>"]),
    st.sampled_from([2100, 5000, 70000]),
)

leaves = st.one_of(
    st.none(),
    long_strings,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(HOSTILE_STRINGS),
)

json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children,
                        max_size=4),
    ),
    max_leaves=10,
)


def _nested(depth: int, lists: bool) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if lists else {"object": value}
    return value


hostile_values = st.one_of(
    json_values,
    st.builds(_nested, st.integers(min_value=2, max_value=150), st.booleans()),
    st.lists(st.sampled_from(HOSTILE_STRINGS), min_size=1, max_size=3),
    st.builds(lambda kind: {"type": kind}, st.one_of(json_values, st.sampled_from(KEYS))),
)

# Examples per property-based test: small for `make test`; raise it for a long local hunt
# (FEDI_FUZZ_EXAMPLES=5000).
MAX_EXAMPLES = int(os.environ.get("FEDI_FUZZ_EXAMPLES", "150"))
# The engines the fuzzers run on. SQLite by default (the default deployment, and fast);
# FEDI_FUZZ_ENGINES=sqlite,postgresql adds PostgreSQL, which is stricter about what it
# stores (the hand-picked cases in test_hostile_input.py run on both every time).
ENGINES = os.environ.get("FEDI_FUZZ_ENGINES", "sqlite").split(",")
# The settings of every fuzzer: bounded, no deadline (an example may start the worker), no
# example database (each run explores afresh), and big or slow examples are the point.
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# One change: (where, key, value). ``where`` is the activity or its embedded object;
# ``value`` None with ``delete`` drops the key.
mutations = st.tuples(
    st.sampled_from(["activity", "object"]),
    st.sampled_from(KEYS),
    hostile_values,
    st.booleans(),
)


def apply_mutations(document: dict[str, Any], changes: list[tuple[str, str, Any, bool]]) -> None:
    """Apply ``changes`` (from :data:`mutations`) to ``document`` in place."""
    for where, key, value, delete in changes:
        target = document
        if where == "object":
            inner = document.get("object")
            if not isinstance(inner, dict):
                continue
            target = inner
        if delete:
            target.pop(key, None)
        else:
            target[key] = value


def body_of(document: Any, wrap_depth: int) -> bytes:
    """The JSON body of ``document``, nested ``wrap_depth`` levels deeper in a field.

    Written with the standard library (orjson refuses to write past about 254 levels or
    integers beyond 64 bits); the deep part is spliced in as text, since no encoder writes
    a thousand levels.
    """
    if wrap_depth and isinstance(document, dict):
        document = {**document, "padding": "DEEP-PADDING"}
        deep = '{"x":' * wrap_depth + "0" + "}" * wrap_depth
        return json.dumps(document).replace('"DEEP-PADDING"', deep).encode()
    return json.dumps(document).encode()


wrap_depths = st.one_of(st.just(0), st.just(0), st.integers(min_value=1, max_value=1200))
raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"[]", b"null", b"{", b'{"a":1e999}', b'{"a":"\\ud800"}', b"\xff"]),
)
