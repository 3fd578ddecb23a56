"""Inbox POSTs per remote domain: a sliding one-minute window per server process.

Counted in memory rather than in the database: the inbox accept path groups its writes into
shared commits (inbox_writer) to reach its throughput, and a counter row per POST would undo
that. The event loop makes each count atomic within the process; with several ``fedi serve``
processes each allows ``FEDI_INBOX_PER_DOMAIN_PER_MINUTE``. Senders are counted by the
host of the key that verified the signature, so a forged sender cannot spend another
server's allowance. Beyond it the inbox answers 429 with ``Retry-After``, which Mastodon and
the others retry later.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fedi.state import AppState, Slot

__all__ = ["INBOX_LIMITER", "DomainLimiter", "inbox_limiter"]

WINDOW_SECONDS = 60
# Forget quiet domains once this many are tracked (a bound on memory).
_MAX_TRACKED = 10_000


@dataclass
class _Counts:
    window_start: int
    current: int = 0
    previous: int = 0


class DomainLimiter:
    """At most ``per_minute`` accepted POSTs per domain in any sliding minute (0: no limit)."""

    def __init__(self, per_minute: int) -> None:
        """Create an empty limiter."""
        self.per_minute = per_minute
        self._counts: dict[str, _Counts] = {}

    def hit(self, domain: str, now: float | None = None) -> int | None:
        """Count one POST from ``domain``; None when allowed, else seconds to wait."""
        if self.per_minute <= 0:
            return None
        current_time = time.monotonic() if now is None else now
        start = int(current_time // WINDOW_SECONDS) * WINDOW_SECONDS
        counts = self._counts.get(domain)
        if counts is None:
            if len(self._counts) >= _MAX_TRACKED:
                self._forget_before(start - WINDOW_SECONDS)
            counts = self._counts[domain] = _Counts(start)
        elif counts.window_start != start:
            moved_one = counts.window_start == start - WINDOW_SECONDS
            counts.previous = counts.current if moved_one else 0
            counts.current = 0
            counts.window_start = start
        into = (current_time - start) / WINDOW_SECONDS
        used = counts.current + math.ceil(counts.previous * (1.0 - into))
        if used >= self.per_minute:
            return max(1, math.ceil(start + WINDOW_SECONDS - current_time))
        counts.current += 1
        return None

    def _forget_before(self, start: int) -> None:
        for domain in [d for d, c in self._counts.items() if c.window_start < start]:
            del self._counts[domain]


INBOX_LIMITER: Slot[DomainLimiter] = Slot("inbox-limiter")


def inbox_limiter(state: AppState) -> DomainLimiter:
    """The limiter of ``state`` (made from the settings on first use)."""
    limiter = state.get(INBOX_LIMITER)
    if limiter is None:
        limiter = DomainLimiter(state.settings.inbox_per_domain_per_minute)
        state.put(INBOX_LIMITER, limiter)
    return limiter
