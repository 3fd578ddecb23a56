"""Inbound activity handlers: one module per activity type, registered in ``registry``.

Each module decorates its handler with ``@handles("Type")``; ``registry.load_handlers()``
imports every module here so the table is complete before a worker dispatches.
"""
