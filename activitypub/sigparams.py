"""Parser for the draft-cavage ``Signature`` header parameter list."""

from __future__ import annotations

from .sigbase import MalformedSignature


def parse_signature_header(value: str) -> dict[str, str]:
    """Parse ``keyId="...",algorithm="...",headers="...",signature="..."`` into a dict.

    Robust to spaces around separators, commas inside quoted values, backslash escapes and
    unquoted values (``created=1700000000``). Parameter names are kept as sent; a leading
    ``Signature `` scheme word (from an ``Authorization`` header) is skipped.
    """
    text = value.strip()
    if text[:10].lower() == "signature ":
        text = text[10:]
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise MalformedSignature(f"malformed signature parameter near {text[i : i + 20]!r}")
        name = text[i:eq].strip()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        close = text.find('"', i + 1) if i < n and text[i] == '"' else -1
        if close > 0 and "\\" not in text[i + 1 : close]:
            # The usual case, no escapes: slice instead of walking the (long) signature.
            val = text[i + 1 : close]
            i = close + 1
        elif i < n and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise MalformedSignature("unterminated quoted string in signature header")
            i += 1
            val = "".join(chars)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            val = text[i:end].strip()
            i = end
        if not name:
            raise MalformedSignature("empty parameter name in signature header")
        params[name] = val
    return params
