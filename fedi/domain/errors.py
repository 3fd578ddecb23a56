"""Errors raised by services: a rule was broken, with a message a person can read.

Messages are written in English and translated where they are shown (web pages translate
them with the request's locale; the CLI and the JSON API show them as they are).
"""

from __future__ import annotations


class ServiceError(Exception):
    """A domain rule refused the action; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.values = values
        self.field = field


class NotFound(ServiceError):
    """The thing asked for does not exist (or may not be seen)."""

    status = 404


class Forbidden(ServiceError):
    """The person may not do this."""

    status = 403


class Conflict(ServiceError):
    """The action clashes with existing state (a taken name, a duplicate)."""

    status = 409


class RateLimited(ServiceError):
    """Too many attempts in a short time."""

    status = 429
