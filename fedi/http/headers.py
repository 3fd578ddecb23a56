"""The security headers every response carries, kept in one place.

The app adds them to whatever it renders (``fedi.app``); answers the page cache sends
without the app (cached actor documents) carry the very same, so a cached answer is
indistinguishable from a rendered one.
"""

from __future__ import annotations

__all__ = ["HSTS", "PERMISSIONS_POLICY", "security_headers"]

# Two years of https, as Mastodon sends it.
HSTS = "max-age=63072000; includeSubDomains"
# No browser features the pages never use (interest-cohort: opting out of ad cohorts, as
# Mastodon does).
PERMISSIONS_POLICY = (
    "camera=(), geolocation=(), microphone=(), payment=(), usb=(), interest-cohort=()"
)


def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers for every response; HSTS only when the instance is served over https
    (a plain-http development instance must stay reachable)."""
    headers = (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    )
    return (*headers, ("Strict-Transport-Security", HSTS)) if secure else headers
