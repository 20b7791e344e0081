"""gallery index cursors: how far an external gallery index (Milvus) has applied the feed

Revision ID: 0501
Revises: 0402
"""
import sqlalchemy as sa
from alembic import op

revision = '0501'
down_revision = '0402'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gallery_index_cursors',
        sa.Column('backend', sa.String(length=32), nullable=False),
        sa.Column('modality', sa.Enum('face', 'finger', name='modality', native_enum=False,
                                      length=32), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('horizon', sa.BigInteger(), nullable=True),
        sa.Column('applied', sa.String(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('backend', 'modality', name=op.f('pk_gallery_index_cursors')),
    )


def downgrade() -> None:
    op.drop_table('gallery_index_cursors')
