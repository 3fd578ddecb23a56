"""An index on ``actors.suspended_at``

Every listing hides what suspended accounts wrote with ``author_id NOT IN (SELECT id FROM
actors WHERE suspended_at IS NOT NULL)`` (``fedi.domain.account_suspension.shown_author``).
Without an index that subquery reads the whole ``actors`` table, which holds every remote
account the instance has met, on every page: 6.7 ms with 200,000 actors, 0.01 ms with it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('actors', schema=None) as batch_op:
        batch_op.create_index('ix_actors_suspended_at', ['suspended_at'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('actors', schema=None) as batch_op:
        batch_op.drop_index('ix_actors_suspended_at')
