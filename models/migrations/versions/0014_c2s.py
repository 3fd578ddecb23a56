"""client-to-server completeness (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00

No schema change was needed: every C2S action is performed by the services the web pages
use, and the activities it answers with are stored in ``outbox_activities`` as before.
"""

from collections.abc import Sequence

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
