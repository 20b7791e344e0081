"""audit log sealed after commit: insertion id, nullable chain position, chain algorithm

Revision ID: 0003_audit_sealed
Revises: 0002
Create Date: 2026-12-01 19:20:00

Requests insert audit entries unsealed (no chain position yet) and a sealer chains them, so
the chain position ``seq`` becomes a nullable unique column and a new ``id`` is the primary
key (existing rows keep id = seq); ``mac`` authenticates an entry as written by guardid.
Existing entries are marked ``alg = 'sha256'``: the plain SHA-256 chain of before; `guardid
migrate` verifies them and re-seals them with the audit chain key after this upgrade
(registry/audit_trail.py adopt_legacy). Self-contained SQL: no application code.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_audit_sealed'
down_revision = '0002'
branch_labels = None
depends_on = None

_COLUMNS = ("at, actor, role, action, resource_type, resource_id, client, detail, "
            "prev_hash, hash")


def _sqlite_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('resource_type', sa.String(length=32), nullable=True),
        sa.Column('resource_id', sa.String(length=64), nullable=True),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=True),
        sa.Column('hash', sa.String(length=64), nullable=True),
        sa.Column('alg', sa.String(length=16), nullable=True),
        sa.Column('mac', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_audit_log'),
        sa.UniqueConstraint('seq', name='uq_audit_log_seq'),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot change a primary key in place: copy into the new shape.
        _sqlite_table('audit_log_0003')
        op.execute(f"INSERT INTO audit_log_0003 (id, seq, {_COLUMNS}, alg) "
                   f"SELECT seq, seq, {_COLUMNS}, 'sha256' FROM audit_log")
        op.drop_index('ix_audit_log_action', table_name='audit_log')
        op.drop_table('audit_log')
        op.rename_table('audit_log_0003', 'audit_log')
        op.create_index('ix_audit_log_action', 'audit_log', ['action'], unique=False)
    else:
        op.drop_constraint('pk_audit_log', 'audit_log', type_='primary')
        op.execute("CREATE SEQUENCE audit_log_id_seq")
        op.add_column('audit_log', sa.Column('id', sa.Integer(), nullable=True))
        op.add_column('audit_log', sa.Column('alg', sa.String(length=16), nullable=True))
        op.add_column('audit_log', sa.Column('mac', sa.String(length=64), nullable=True))
        op.execute("UPDATE audit_log SET id = seq, alg = 'sha256'")
        op.execute("SELECT setval('audit_log_id_seq', "
                   "COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false)")
        op.execute("ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id")
        op.alter_column('audit_log', 'id', nullable=False,
                        server_default=sa.text("nextval('audit_log_id_seq')"))
        op.create_primary_key('pk_audit_log', 'audit_log', ['id'])
        op.alter_column('audit_log', 'seq', nullable=True)
        op.alter_column('audit_log', 'prev_hash', nullable=True)
        op.alter_column('audit_log', 'hash', nullable=True)
        op.create_unique_constraint('uq_audit_log_seq', 'audit_log', ['seq'])


def downgrade() -> None:
    # Entries not yet sealed have no chain position; the old schema cannot hold them, and
    # nothing acknowledged is dropped: seal them first (`guardid audit verify`).
    if op.get_bind().execute(sa.text("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL")).scalar():
        raise RuntimeError("unsealed audit entries: run `guardid audit verify` first")
    with op.batch_alter_table('audit_log', recreate='always') as batch:
        batch.drop_constraint('uq_audit_log_seq', type_='unique')
        batch.drop_constraint('pk_audit_log', type_='primary')
        batch.drop_column('id')
        batch.drop_column('alg')
        batch.drop_column('mac')
        batch.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch.create_primary_key('pk_audit_log', ['seq'])
    if op.get_bind().dialect.name != 'sqlite':
        op.execute("DROP SEQUENCE IF EXISTS audit_log_id_seq")
