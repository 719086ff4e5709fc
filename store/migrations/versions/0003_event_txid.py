"""events.txid: the writing transaction's id, so readers on PostgreSQL never skip a late commit

Revision ID: 0003_event_txid
Revises: 0002_artifacts
Create Date: 2026-12-03 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_event_txid'
down_revision = '0002_artifacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('txid', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # rows written before this revision are all committed: read them first
        op.execute("UPDATE events SET txid = 0")
        op.execute("ALTER TABLE events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)")
        op.create_index('ix_events_txid_id', 'events', ['txid', 'id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_events_txid_id', table_name='events')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('txid')
