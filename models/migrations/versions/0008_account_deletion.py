"""account deletion and suspension (issue 12)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:15:00

No schema change was needed: a deleted local person is marked like a remote actor that
answered 410, with ``actors.gone_at`` (the row stays, so the name cannot be taken again and
its id answers 410 Gone); the ``users`` row is deleted with its sessions and tokens.
"""

from collections.abc import Sequence

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
