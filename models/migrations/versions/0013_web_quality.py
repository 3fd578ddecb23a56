"""web experience: uploads, registration limits (issue 11)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00

No schema change was needed: uploads are re-encoded into the existing media files, the
registration limit counts successful registrations in ``rate_limit_hits``, and the last
visit of the start page has its table in 0010. The revision keeps the numbering of the
second wave's migrations in one line.
"""

from collections.abc import Sequence

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
