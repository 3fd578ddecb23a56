"""media attachments, bookmarks, timeline markers and idempotency keys (Mastodon API, issue 14)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: the four tables of models.mastodon_api."""
    op.create_table('media_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('focus_x', sa.Double(), nullable=False),
    sa.Column('focus_y', sa.Double(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('object_ap_id', sa.String(length=2048), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_media_attachments_actor_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachments'))
    )
    op.create_index(op.f('ix_media_attachments_actor_id'), 'media_attachments', ['actor_id'], unique=False)
    op.create_index('ix_media_attachments_object', 'media_attachments', ['object_ap_id'], unique=False)
    op.create_table('bookmarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('object_ap_id', sa.String(length=2048), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_bookmarks_actor_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookmarks')),
    sa.UniqueConstraint('actor_id', 'object_ap_id', name='uq_bookmarks_actor_object')
    )
    op.create_table('timeline_markers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('timeline', sa.String(length=32), nullable=False),
    sa.Column('last_read_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_timeline_markers_actor_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_markers')),
    sa.UniqueConstraint('actor_id', 'timeline', name='uq_timeline_markers_actor_timeline')
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('object_ap_id', sa.String(length=2048), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_idempotency_keys_actor_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('actor_id', 'key', name='uq_idempotency_keys_actor_key')
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('idempotency_keys')
    op.drop_table('timeline_markers')
    op.drop_table('bookmarks')
    op.drop_index('ix_media_attachments_object', table_name='media_attachments')
    op.drop_index(op.f('ix_media_attachments_actor_id'), table_name='media_attachments')
    op.drop_table('media_attachments')
