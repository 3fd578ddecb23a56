"""The notification mailer: notifications marked for "e-mail at once" become queued mails.

It runs as one more loop of ``fedi.workers.runner`` (polled every second, like the mail
queue) and hands the work to ``fedi.domain.notify_mail.queue_pending_mails``; the mail
worker then sends the mails with its retries.
"""

from __future__ import annotations

from fedi.domain.notify_mail import queue_pending_mails
from fedi.state import AppState

__all__ = ["NotificationMailer"]


class NotificationMailer:
    """Queues the mails of marked notifications; ``run_once`` handles one batch."""

    def __init__(self, state: AppState) -> None:
        """Prepare the mailer for ``state``."""
        self.state = state

    async def run_once(self) -> int:
        """Queue the mails of one batch of marked notifications; how many were handled."""
        async with self.state.db.session() as db:
            return await queue_pending_mails(db, self.state.settings)
