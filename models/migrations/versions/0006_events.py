"""meetups (issue 15)

Events a tribe or an initiative organises (``meetups``) and who takes part
(``meetup_participants``); remote events keep their own ids.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    when = models.base.UTCDateTime(timezone=True)
    op.create_table(
        'meetups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ap_id', sa.String(length=2048), nullable=False),
        sa.Column('local', sa.Boolean(), nullable=False),
        sa.Column('tribe_id', sa.Integer(), nullable=True),
        sa.Column('initiative_id', sa.Integer(), nullable=True),
        sa.Column('organiser_id', sa.Integer(), nullable=False),
        sa.Column('group_ap_id', sa.String(length=2048), nullable=True),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('description_source', sa.Text(), nullable=False),
        sa.Column('description_html', sa.Text(), nullable=False),
        sa.Column('starts_at', when, nullable=False),
        sa.Column('ends_at', when, nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('place_name', sa.String(length=255), nullable=False),
        sa.Column('street', sa.String(length=255), nullable=False),
        sa.Column('postal_code', sa.String(length=32), nullable=False),
        sa.Column('locality', sa.String(length=255), nullable=False),
        sa.Column('country', sa.String(length=255), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('online_url', sa.String(length=2048), nullable=True),
        sa.Column('capacity', sa.Integer(), nullable=True),
        sa.Column('join_mode', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('remote_participant_count', sa.Integer(), nullable=True),
        sa.Column('url', sa.String(length=2048), nullable=True),
        sa.Column('raw', sa.JSON(), nullable=True),
        sa.Column('reminded_at', when, nullable=True),
        sa.Column('deleted_at', when, nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('updated_at', when, nullable=False),
        sa.ForeignKeyConstraint(
            ['tribe_id'], ['tribes.id'], name=op.f('fk_meetups_tribe_id_tribes'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['initiative_id'], ['initiatives.id'],
            name=op.f('fk_meetups_initiative_id_initiatives'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['organiser_id'], ['actors.id'], name=op.f('fk_meetups_organiser_id_actors'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meetups')),
        sa.UniqueConstraint('ap_id', name=op.f('uq_meetups_ap_id')),
    )
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.create_index('ix_meetups_starts_at', ['starts_at'], unique=False)
        batch_op.create_index('ix_meetups_tribe_starts', ['tribe_id', 'starts_at'], unique=False)
    op.create_table(
        'meetup_participants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meetup_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('activity_ap_id', sa.String(length=2048), nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('decided_at', when, nullable=True),
        sa.ForeignKeyConstraint(
            ['meetup_id'], ['meetups.id'],
            name=op.f('fk_meetup_participants_meetup_id_meetups'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['actors.id'], name=op.f('fk_meetup_participants_actor_id_actors'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meetup_participants')),
        sa.UniqueConstraint(
            'meetup_id', 'actor_id', name='uq_meetup_participants_meetup_actor'
        ),
    )
    with op.batch_alter_table('meetup_participants', schema=None) as batch_op:
        batch_op.create_index('ix_meetup_participants_actor', ['actor_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('meetup_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_meetup_participants_actor')
    op.drop_table('meetup_participants')
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.drop_index('ix_meetups_tribe_starts')
        batch_op.drop_index('ix_meetups_starts_at')
    op.drop_table('meetups')
