"""Web Push subscriptions, account moves and suspension (issue 12)

Web Push: the browsers' subscriptions (``push_subscriptions``), a person's push channel
(``push_preferences``) and the queue of pushes (``push_messages``). Moves (FEP-7628): a
person's aliases (``actors.also_known_as``) and the account they moved to
(``actors.moved_to``). Suspension: ``actors.suspended_at`` (reversible, unlike ``gone_at``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=2048), nullable=False),
        sa.Column('p256dh', sa.String(length=255), nullable=False),
        sa.Column('auth', sa.String(length=255), nullable=False),
        sa.Column('created_at', when, nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['actors.id'], name=op.f('fk_push_subscriptions_actor_id_actors'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint')),
    )
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_push_subscriptions_actor_id'), ['actor_id'], unique=False
        )
    op.create_table(
        'push_preferences',
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_kinds', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['actors.id'], name=op.f('fk_push_preferences_actor_id_actors'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('actor_id', name=op.f('pk_push_preferences')),
    )
    op.create_table(
        'push_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', when, nullable=False),
        sa.Column('claimed_until', when, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('sent_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['subscription_id'], ['push_subscriptions.id'],
            name=op.f('fk_push_messages_subscription_id_push_subscriptions'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['notification_id'], ['notifications.id'],
            name=op.f('fk_push_messages_notification_id_notifications'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_messages')),
        sa.UniqueConstraint(
            'subscription_id', 'notification_id', name='uq_push_messages_subscription_note'
        ),
    )
    with op.batch_alter_table('push_messages', schema=None) as batch_op:
        batch_op.create_index(
            'ix_push_messages_state_next', ['state', 'next_try_at'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_push_messages_notification_id'), ['notification_id'], unique=False
        )
    with op.batch_alter_table('actors', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('also_known_as', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.add_column(sa.Column('moved_to', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('suspended_at', when, nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('actors', schema=None) as batch_op:
        batch_op.drop_column('suspended_at')
        batch_op.drop_column('moved_to')
        batch_op.drop_column('also_known_as')
    with op.batch_alter_table('push_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_messages_notification_id'))
        batch_op.drop_index('ix_push_messages_state_next')
    op.drop_table('push_messages')
    op.drop_table('push_preferences')
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_actor_id'))
    op.drop_table('push_subscriptions')
