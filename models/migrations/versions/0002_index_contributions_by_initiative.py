"""index contributions by initiative

The progress figure on every initiative page (and on each card of a tribe's initiatives
page) counts the initiative's contributions by state; without this index that count read the
whole table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:27:31.990062
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('initiative_contributions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_initiative_contributions_initiative_state', ['initiative_id', 'state'],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('initiative_contributions', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_contributions_initiative_state')
