"""polls (issue 15)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: polls, their options and votes."""
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ap_id', sa.String(length=2048), nullable=True),
    sa.Column('local', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('tribe_id', sa.Integer(), nullable=True),
    sa.Column('initiative_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.String(length=500), nullable=False),
    sa.Column('content_html', sa.Text(), nullable=False),
    sa.Column('multiple', sa.Boolean(), nullable=False),
    sa.Column('voters', sa.String(length=16), nullable=False),
    sa.Column('results', sa.String(length=16), nullable=False),
    sa.Column('end_time', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voters_count', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['actors.id'], name=op.f('fk_polls_author_id_actors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_polls_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tribe_id'], ['tribes.id'], name=op.f('fk_polls_tribe_id_tribes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls')),
    sa.UniqueConstraint('ap_id', name=op.f('uq_polls_ap_id'))
    )
    op.create_index('ix_polls_initiative', 'polls', ['initiative_id'], unique=False)
    op.create_index('ix_polls_open_end', 'polls', ['closed_at', 'end_time'], unique=False)
    op.create_index('ix_polls_tribe_created', 'polls', ['tribe_id', 'created_at'], unique=False)
    op.create_table('poll_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('votes_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_options_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_options')),
    sa.UniqueConstraint('poll_id', 'position', name='uq_poll_options_poll_position')
    )
    op.create_table('poll_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.Column('ap_id', sa.String(length=2048), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['option_id'], ['poll_options.id'], name=op.f('fk_poll_votes_option_id_poll_options'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_votes_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['actors.id'], name=op.f('fk_poll_votes_voter_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_votes')),
    sa.UniqueConstraint('ap_id', name=op.f('uq_poll_votes_ap_id')),
    sa.UniqueConstraint('option_id', 'voter_id', name='uq_poll_votes_option_voter')
    )
    op.create_index('ix_poll_votes_poll_voter', 'poll_votes', ['poll_id', 'voter_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_poll_votes_poll_voter', table_name='poll_votes')
    op.drop_table('poll_votes')
    op.drop_table('poll_options')
    op.drop_index('ix_polls_tribe_created', table_name='polls')
    op.drop_index('ix_polls_open_end', table_name='polls')
    op.drop_index('ix_polls_initiative', table_name='polls')
    op.drop_table('polls')
