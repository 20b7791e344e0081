"""template_changes.xid: the writing transaction, so the change feed cannot skip a change

On PostgreSQL the column defaults to ``pg_current_xact_id()`` (as a bigint: xid8 with its
epoch) and is indexed; rows already there are settled and get 0. SQLite has one writer at a
time and leaves it NULL.

Revision ID: 0103_feed_xid
Revises: 0102
"""
import sqlalchemy as sa
from alembic import op

revision = '0103_feed_xid'
down_revision = '0102'
branch_labels = None
depends_on = None

_XID_DEFAULT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    with op.batch_alter_table('template_changes') as batch:
        batch.add_column(sa.Column('xid', sa.BigInteger(), nullable=True))
        batch.create_index('ix_template_changes_xid', ['xid'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE template_changes SET xid = 0")
        op.alter_column('template_changes', 'xid', server_default=sa.text(_XID_DEFAULT))


def downgrade() -> None:
    with op.batch_alter_table('template_changes') as batch:
        batch.drop_index('ix_template_changes_xid')
        batch.drop_column('xid')
