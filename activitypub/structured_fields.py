"""Minimal RFC 8941 structured-field parsing/serialising, enough for RFC 9421 signatures.

Supports dictionaries whose members are items or inner lists, with parameters; item types are
integers, strings, tokens, byte sequences and booleans (no decimals: signatures never use them).
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass, field


class Token(str):
    """An sf-token (serialised unquoted), distinguished from an sf-string."""


BareItem = int | str | bytes | bool
Params = dict[str, BareItem]


@dataclass(slots=True)
class Item:
    """A bare item with its parameters."""

    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(slots=True)
class InnerList:
    """A parenthesised list of items with its own parameters."""

    items: list[Item]
    params: Params = field(default_factory=dict)


Member = Item | InnerList


class StructuredFieldError(ValueError):
    """The header is not a valid structured field."""


_KEY_START = string.ascii_lowercase + "*"
_KEY_CHARS = string.ascii_lowercase + string.digits + "_-.*"
_TOKEN_START = string.ascii_letters + "*"
_TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/"


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise StructuredFieldError(f"expected {ch!r} at {self.i}")
        self.i += 1

    def key(self) -> str:
        if self.peek() == "" or self.peek() not in _KEY_START:
            raise StructuredFieldError(f"bad key at {self.i}")
        start = self.i
        while self.peek() and self.peek() in _KEY_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def bare_item(self) -> BareItem:
        ch = self.peek()
        if ch == '"':
            return self.string()
        if ch == ":":
            return self.byte_seq()
        if ch == "?":
            self.i += 1
            val = self.peek()
            if val not in ("0", "1") or not val:
                raise StructuredFieldError("bad boolean")
            self.i += 1
            return val == "1"
        if ch == "-" or (ch and ch.isdigit()):
            return self.integer()
        if ch and ch in _TOKEN_START:
            start = self.i
            while self.peek() and self.peek() in _TOKEN_CHARS:
                self.i += 1
            return Token(self.s[start : self.i])
        raise StructuredFieldError(f"unexpected {ch!r} at {self.i}")

    def string(self) -> str:
        self.expect('"')
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise StructuredFieldError("unterminated string")
            self.i += 1
            if ch == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\") or not nxt:
                    raise StructuredFieldError("bad escape")
                out.append(nxt)
                self.i += 1
            elif ch == '"':
                return "".join(out)
            else:
                out.append(ch)

    def byte_seq(self) -> bytes:
        self.expect(":")
        end = self.s.find(":", self.i)
        if end < 0:
            raise StructuredFieldError("unterminated byte sequence")
        raw = self.s[self.i : end]
        self.i = end + 1
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise StructuredFieldError("bad base64 in byte sequence") from exc

    def integer(self) -> int:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        while self.peek() and self.peek().isdigit():
            self.i += 1
        digits = self.s[start : self.i]
        if digits in ("", "-") or len(digits.lstrip("-")) > 15:
            raise StructuredFieldError("bad integer")
        return int(digits)

    def params(self) -> Params:
        out: Params = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            out[name] = value
        return out

    def member(self) -> Member:
        if self.peek() == "(":
            self.i += 1
            items: list[Item] = []
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.i += 1
                    return InnerList(items, self.params())
                value = self.bare_item()
                items.append(Item(value, self.params()))
                if self.peek() not in (" ", ")"):
                    raise StructuredFieldError(f"bad inner list at {self.i}")
        value = self.bare_item()
        return Item(value, self.params())


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an sf-dictionary such as ``Signature-Input`` or ``Signature``."""
    p = _Parser(text.strip())
    out: dict[str, Member] = {}
    while p.peek():
        name = p.key()
        if p.peek() == "=":
            p.i += 1
            out[name] = p.member()
        else:
            out[name] = Item(True, p.params())
        p.skip_ows()
        if not p.peek():
            break
        p.expect(",")
        p.skip_ows()
        if not p.peek():
            raise StructuredFieldError("trailing comma")
    return out


def serialize_bare_item(value: BareItem) -> str:
    """Serialise one bare item in canonical form."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    """Serialise parameters (``;name=value``; boolean true as a bare name)."""
    return "".join(
        f";{k}" if v is True else f";{k}={serialize_bare_item(v)}" for k, v in params.items()
    )


def serialize_inner_list(inner: InnerList) -> str:
    """Serialise an inner list with its parameters in canonical form."""
    items = " ".join(serialize_bare_item(i.value) + serialize_params(i.params) for i in inner.items)
    return f"({items}){serialize_params(inner.params)}"
