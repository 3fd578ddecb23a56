"""Delivering one signed activity to one inbox, and classifying the outcome for retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from .http_signatures import sign_request
from .sigbase import SigningKey
from .urlpolicy import UrlPolicy, UrlRefused
from .vocab import ACTIVITY_JSON

__all__ = ["DeliveryResult", "SigningKey", "classify_status", "parse_retry_after", "post_activity"]

Outcome = Literal["delivered", "retry", "final", "gone"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one delivery attempt.

    ``outcome`` tells the worker what to do: ``delivered`` (done), ``retry`` (back off and try
    again, honouring ``retry_after`` seconds when set), ``final`` (give up on this row) or
    ``gone`` (410: the recipient no longer exists; mark the actor gone).
    """

    status: int | None
    outcome: Outcome
    retry_after: float | None = None
    error: str | None = None


def classify_status(status: int) -> Outcome:
    """Map an HTTP status to a delivery outcome.

    401 is retried because a receiver may fail to fetch our freshly rotated key for a while;
    408/429 and 5xx are transient by definition; other 4xx will never succeed.
    """
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    if status in (401, 408, 429) or status >= 500:
        return "retry"
    return "final"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` as delta-seconds or an HTTP-date; return seconds (>= 0) or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


async def post_activity(
    client: httpx.AsyncClient,
    inbox_url: str,
    body: bytes,
    key: SigningKey,
    policy: UrlPolicy,
    # A per-request httpx timeout, not a deadline for the whole coroutine (ASYNC109).
    timeout: float = 15.0,  # noqa: ASYNC109
) -> DeliveryResult:
    """POST ``body`` (serialised activity) to ``inbox_url``, signed with ``key``.

    Redirects are not followed: a redirected POST would need re-signing and could be steered
    to an address the policy refuses, and inbox URLs come straight from actor documents.
    The response body is never read beyond the headers.
    """
    try:
        await policy.check(inbox_url)
    except UrlRefused as exc:
        return DeliveryResult(None, "final", error=f"URL refused: {exc}")
    headers = {"Content-Type": ACTIVITY_JSON}
    headers.update(sign_request("POST", inbox_url, headers, body, key.key_id, key.private_key_pem))
    try:
        async with client.stream(
            "POST",
            inbox_url,
            content=body,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
    except UrlRefused as exc:  # from a PolicyTransport under the client
        return DeliveryResult(None, "final", error=f"URL refused: {exc}")
    except httpx.HTTPError as exc:
        return DeliveryResult(None, "retry", error=f"{type(exc).__name__}: {exc}")
    outcome = classify_status(status)
    error = None if outcome == "delivered" else f"HTTP {status}"
    if 300 <= status < 400:
        error = f"HTTP {status} redirect not followed"
    return DeliveryResult(status, outcome, retry_after if outcome == "retry" else None, error)
