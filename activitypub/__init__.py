"""Pure ActivityPub protocol library: vocabulary, builders, HTTP signatures, fetching, delivery.

This package is standalone on purpose: it imports nothing from the application (``fedi``,
``models``) and depends only on httpx, cryptography, orjson and the standard library, so the
protocol rules can be tested without a database or a web framework.
"""
