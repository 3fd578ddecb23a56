"""e-mail queue and addresses (issue 12)

The outgoing mail queue (``outgoing_mails``) and when an account's e-mail address was
confirmed (``users.email_confirmed_at``), and per notification kind whether it may be
mailed (``notification_settings.email``, switched off by one-click unsubscribe links).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'outgoing_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('to_address', sa.String(length=320), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=998), nullable=False),
        sa.Column('text_body', sa.Text(), nullable=False),
        sa.Column('html_body', sa.Text(), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', when, nullable=False),
        sa.Column('claimed_until', when, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('sent_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_outgoing_mails_user_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mails')),
    )
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outgoing_mails_state_next', ['state', 'next_try_at'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_outgoing_mails_user_id'), ['user_id'], unique=False
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', when, nullable=True))
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email', sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_user_id'))
        batch_op.drop_index('ix_outgoing_mails_state_next')
    op.drop_table('outgoing_mails')
