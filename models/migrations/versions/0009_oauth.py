"""OAuth 2 apps, authorisation codes and tokens for the Mastodon client API (issue 14)

Three tables: ``oauth_apps`` (registered client applications), ``oauth_codes`` (one-time
authorisation codes with their PKCE challenge) and ``oauth_tokens`` (access tokens). Every
secret is stored as its SHA-256 hash.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'oauth_apps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('client_secret_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('website', sa.String(length=2048), nullable=True),
        sa.Column('redirect_uris', sa.Text(), nullable=False),
        sa.Column('scopes', sa.String(length=1024), nullable=False),
        sa.Column('created_at', when, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_apps')),
        sa.UniqueConstraint('client_id', name=op.f('uq_oauth_apps_client_id')),
    )
    op.create_table(
        'oauth_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('app_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('redirect_uri', sa.Text(), nullable=False),
        sa.Column('scopes', sa.String(length=1024), nullable=False),
        sa.Column('code_challenge', sa.String(length=128), nullable=True),
        sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('expires_at', when, nullable=False),
        sa.Column('used_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['app_id'], ['oauth_apps.id'], name=op.f('fk_oauth_codes_app_id_oauth_apps'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_oauth_codes_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_codes_code_hash')),
    )
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_codes_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_codes_user_id'), ['user_id'], unique=False)
    op.create_table(
        'oauth_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('app_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.String(length=1024), nullable=False),
        sa.Column('created_at', when, nullable=False),
        sa.Column('last_used_at', when, nullable=True),
        sa.Column('revoked_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['app_id'], ['oauth_apps.id'], name=op.f('fk_oauth_tokens_app_id_oauth_apps'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_oauth_tokens_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_oauth_tokens_token_hash')),
    )
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_app_id'))
    op.drop_table('oauth_tokens')
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_codes_user_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_codes_app_id'))
    op.drop_table('oauth_codes')
    op.drop_table('oauth_apps')
