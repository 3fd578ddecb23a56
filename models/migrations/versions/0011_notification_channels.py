"""notification channels, e-mail at once and digests (issue 12)

``notifications.email_pending``: a notification still to be mailed at once (the
notification mailer clears it), and ``notification_preferences``: per person how often the
digest comes (off, daily, weekly) and up to when it has been mailed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'notification_preferences',
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('digest_frequency', sa.String(length=8), nullable=False),
        sa.Column('digest_sent_until', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['actors.id'],
            name=op.f('fk_notification_preferences_actor_id_actors'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('actor_id', name=op.f('pk_notification_preferences')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email_pending', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f('ix_notifications_email_pending'), ['email_pending'], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_email_pending'))
        batch_op.drop_column('email_pending')
    op.drop_table('notification_preferences')
