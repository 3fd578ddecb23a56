"""rate limits and other security state (issue 13)

Rate limits become one counter row per bucket and time window, taken with a single atomic
upsert, instead of one row per attempt counted before the attempt and recorded after it (40
concurrent wrong passwords were all evaluated). The old rows are only minutes of history,
so the table is replaced rather than converted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_hits_bucket'))
        batch_op.drop_index(batch_op.f('ix_rate_limit_hits_at'))
    op.drop_table('rate_limit_hits')
    op.create_table(
        'rate_limit_hits',
        sa.Column('bucket', sa.String(length=255), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('bucket', 'window_start', name=op.f('pk_rate_limit_hits')),
    )
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_rate_limit_hits_window_start'), ['window_start'], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_hits_window_start'))
    op.drop_table('rate_limit_hits')
    op.create_table(
        'rate_limit_hits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.String(length=255), nullable=False),
        sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_hits')),
    )
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_hits_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_limit_hits_bucket'), ['bucket'], unique=False)
