"""Mastodon API push subscriptions (``/api/v1/push/subscription``)

An app's subscription is a ``push_subscriptions`` row tied to the OAuth token it was made
with (``oauth_token_id``, deleted with the token), with the app's alerts, policy, the
encryption it expects and its sealed access token (Mastodon puts it in each push).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oauth_token_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('alerts', sa.JSON(), nullable=False, server_default='{}')
        )
        batch_op.add_column(
            sa.Column('policy', sa.String(length=16), nullable=False, server_default='all')
        )
        batch_op.add_column(
            sa.Column('encoding', sa.String(length=16), nullable=False,
                      server_default='aes128gcm')
        )
        batch_op.add_column(sa.Column('sealed_token', sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_push_subscriptions_oauth_token_id'), ['oauth_token_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_push_subscriptions_oauth_token_id_oauth_tokens'), 'oauth_tokens',
            ['oauth_token_id'], ['id'], ondelete='CASCADE',
        )
    # The defaults were for the rows already there; new rows get theirs from the model.
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('alerts', server_default=None)
        batch_op.alter_column('policy', server_default=None)
        batch_op.alter_column('encoding', server_default=None)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_push_subscriptions_oauth_token_id_oauth_tokens'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_oauth_token_id'))
        batch_op.drop_column('sealed_token')
        batch_op.drop_column('encoding')
        batch_op.drop_column('policy')
        batch_op.drop_column('alerts')
        batch_op.drop_column('oauth_token_id')
