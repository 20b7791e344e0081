"""gallery index cursors: the Milvus timestamp of the writes a cursor covers

Revision ID: 0502
Revises: 0501
"""
import sqlalchemy as sa
from alembic import op

revision = '0502'
down_revision = '0501'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gallery_index_cursors') as batch:
        batch.add_column(sa.Column('written_ts', sa.BigInteger(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('gallery_index_cursors') as batch:
        batch.drop_column('written_ts')
